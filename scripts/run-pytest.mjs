// Runs the trainer's pytest suite with Debian's /usr/bin/python3 (the one apt's python3-torch serves).
// Skips with a reason when torch is not installed, so `npm test` works on a machine with Node only.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const python = process.env.SEER_PYTHON ?? '/usr/bin/python3';
const probe = existsSync(python)
  ? spawnSync(python, ['-c', 'import torch, onnx, pytest'], { encoding: 'utf8' })
  : { status: 1, stderr: `${python} not found` };
if (probe.status !== 0) {
  console.log(`[test:trainer] SKIPPED: ${python} lacks torch/onnx/pytest (${(probe.stderr ?? '').trim().split('\n').pop()}).`);
  console.log('[test:trainer] Install them with: sudo apt-get install python3-torch python3-onnx python3-pytest');
  process.exit(0);
}
const run = spawnSync(python, ['-m', 'pytest', '-q', 'trainer/tests', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PYTHONPATH: 'trainer' },
});
process.exit(run.status ?? 1);
