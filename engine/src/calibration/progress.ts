// Progress of a model pass, reported as (done, total, message) with throughput and an ETA in the message.

export type ProgressListener = (done: number, total: number, message?: string) => void;

export class ProgressMeter {
  private readonly start = Date.now();

  constructor(
    private readonly total: number,
    private readonly listener?: ProgressListener,
  ) {}

  /** Call at coarse steps (each chunk of rows), not per row: every call is one notification. */
  update(done: number, label: string): void {
    if (!this.listener) return;
    const seconds = (Date.now() - this.start) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const eta = rate > 0 ? (this.total - done) / rate : NaN;
    this.listener(done, this.total, `${label} ${rate.toFixed(1)} rows/s, ETA ${formatSeconds(eta)}`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const m = Math.floor(t / 60);
  return `${m}:${String(t % 60).padStart(2, '0')}`;
}
