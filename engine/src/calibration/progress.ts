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
    this.listener(done, this.total, progressMessage(label, done, this.total, (Date.now() - this.start) / 1000));
  }
}

/**
 * "calibrating 12.5 rows/s, ETA 1:04"; "calibrating starting…" until a row is done (no rate is known then,
 * and "0.0 rows/s, ETA --:--" reads as stalled).
 */
export function progressMessage(label: string, done: number, total: number, seconds: number): string {
  if (!(done > 0 && seconds > 0)) return `${label} starting…`;
  const rate = done / seconds;
  return `${label} ${rate.toFixed(1)} rows/s, ETA ${formatSeconds((total - done) / rate)}`;
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const t = Math.max(0, Math.round(s));
  const m = Math.floor(t / 60);
  return `${m}:${String(t % 60).padStart(2, '0')}`;
}
