// vitest globalSetup: one temporary folder per test run, removed when the run ends, with whatever the
// tests and the processes they start left in it. TMPDIR points at it: os.tmpdir() reads TMPDIR on each
// call, and the test workers and their child processes inherit it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

export default function setup() {
  const previous = process.env.TMPDIR;
  const dir = mkdtempSync(path.join(tmpdir(), 'seer-vitest-'));
  process.env.TMPDIR = dir;
  return () => {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  };
}
