// The repository's size budget (issue 11): the tracked files at most 40 MB in all (the tree sent to a GPU machine
// is limited to 64 MiB, and it travels with the training inputs), and each embedded bundle, as the extension ships
// it, at most 25 MB. Committing a large record or a bigger model without deciding what to leave out fails here.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const TRACKED_MAX_BYTES = 40e6;
const BUNDLE_MAX_BYTES = 25e6;

/** Tracked files with their sizes in the working tree, largest first; undefined outside a git checkout. */
function trackedFiles(): Array<{ file: string; bytes: number }> | undefined {
  const r = spawnSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0) return undefined;
  return r.stdout
    .split('\0')
    .filter(Boolean)
    .map((file) => ({ file, bytes: statSync(path.join(ROOT, file), { throwIfNoEntry: false })?.size ?? 0 }))
    .sort((a, b) => b.bytes - a.bytes);
}

const files = trackedFiles();
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

// Outside a git checkout (a source archive) there is no list of tracked files to measure: skipped.
describe.skipIf(!files)('the size budget', () => {
  it(`keeps the tracked files within ${mb(TRACKED_MAX_BYTES)}`, () => {
    const total = files!.reduce((n, f) => n + f.bytes, 0);
    const largest = files!.slice(0, 8).map((f) => `${f.file} ${mb(f.bytes)}`).join(', ');
    expect(total, `tracked files ${mb(total)}; the largest: ${largest}`).toBeLessThanOrEqual(TRACKED_MAX_BYTES);
  });

  it.each(['models/default', 'models/baseline'])(`keeps %s, as shipped, within ${mb(BUNDLE_MAX_BYTES)}`, (bundle) => {
    // What the .vsix carries of a bundle: its tracked files (model.pt, written by the build, is not committed).
    const own = files!.filter((f) => f.file.startsWith(`${bundle}/`));
    expect(own.map((f) => f.file)).toContain(`${bundle}/model.onnx`);
    const total = own.reduce((n, f) => n + f.bytes, 0);
    expect(total, `${bundle}: ${own.map((f) => `${f.file} ${mb(f.bytes)}`).join(', ')}`).toBeLessThanOrEqual(BUNDLE_MAX_BYTES);
  });
});
