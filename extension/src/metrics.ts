// Timings for benchmarks and the end-to-end test: when SEER_METRICS_FILE is set, each event is appended
// to it as one JSON line. Nothing is recorded otherwise.
import { appendFileSync } from 'node:fs';

export function recordMetric(event: string, data: Record<string, unknown>): void {
  const file = process.env.SEER_METRICS_FILE;
  if (file) appendFileSync(file, JSON.stringify({ event, at: Date.now(), ...data }) + '\n');
}
