// For the CLI: a progress bar with ETA on stderr (redrawn in place on a terminal, a line every few seconds
// otherwise), and Ctrl-C wired to an AbortSignal so a run stops cleanly with nothing half-written.
import type { ProgressListener } from '../calibration/progress';

export function progressBar(stream: NodeJS.WriteStream = process.stderr): { listener: ProgressListener; finish(): void } {
  const width = 28;
  let lastLine = 0;
  let drawn = false;
  return {
    listener(done, total, message) {
      const frac = total ? done / total : 0;
      const filled = Math.round(frac * width);
      const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(100 * frac).toFixed(0).padStart(3)}% ${done}/${total} ${message ?? ''}`;
      if (stream.isTTY) {
        stream.write(`\r${text.slice(0, (stream.columns || 100) - 1)}\x1b[K`);
        drawn = true;
      } else if (Date.now() - lastLine > 5000 || done === total) {
        stream.write(`${text}\n`);
        lastLine = Date.now();
      }
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** Aborts on the first Ctrl-C (a second one kills the process as usual); call the result to unhook. */
export function abortOnInterrupt(controller: AbortController, stream: NodeJS.WriteStream = process.stderr): () => void {
  const onSigint = () => {
    stream.write('\ninterrupted: stopping (nothing is written); press Ctrl-C again to kill\n');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  return () => process.removeListener('SIGINT', onSigint);
}
