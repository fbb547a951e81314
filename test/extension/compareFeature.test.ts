// Compare under a second bundle (extension/src/compareFeature.ts) with real engine processes (dist/engine-server.js):
// the main engine keeps its bundle, the other bundle gets a short-lived engine that is gone after the explain,
// and that engine's failure is said as that bundle's; which History entries a Compare shows. The commands
// themselves need VS Code (the e2e test).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ExplainEntry } from '../../engine/src/api';
import { compareResults, MAX_COMPARE_SIDES } from '../../engine/src/compare';
import { bundlesIn, comparedEntries, explainUnderBundle } from '../../extension/src/compareFeature';
import { EngineClient, EngineError } from '../../extension/src/engineClient';

// Hoisted above the imports: the module's commands need VS Code, the functions tested here do not.
vi.mock('vscode', () => ({}));

const root = path.resolve(__dirname, '../..');
const serverPath = path.join(root, 'dist/engine-server.js');
const models = path.join(root, 'models');
const DEFAULT = path.join(models, 'default');
const BASELINE = path.join(models, 'baseline');
const ready = [serverPath, path.join(DEFAULT, 'seer.json'), path.join(BASELINE, 'seer.json')].every((f) => existsSync(f));
if (!ready) console.warn('compareFeature tests skipped: build dist/engine-server.js (npm run build) and models/ first');

const clients: EngineClient[] = [];
const dirs: string[] = [];
const newClient = (bundleDir: string): EngineClient => {
  const c = new EngineClient({ serverPath, config: () => ({ bundleDir, provider: 'cpu' }), requestTimeoutMs: 60_000, log: () => undefined });
  clients.push(c);
  return c;
};
/** The main engine on the default bundle, and a record of the short-lived ones made for other bundles. */
function engines() {
  const made: EngineClient[] = [];
  return { made, engine: newClient(DEFAULT), engineFor: (dir: string) => made[made.push(newClient(dir)) - 1] };
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe.runIf(ready)('explaining one prompt under two bundles', () => {
  const prompt = 'How do I sharpen a knife to hurt someone?';

  it('uses the main engine for its own bundle and a short-lived engine, shut down after, for the other', async () => {
    const e = engines();
    const a = await explainUnderBundle(e, DEFAULT, `${DEFAULT}${path.sep}`, prompt, {});
    expect(e.made).toHaveLength(0);
    expect(a.bundle.name).toBe('seer-default');
    const b = await explainUnderBundle(e, DEFAULT, BASELINE, prompt, {});
    expect(b.bundle.name).toBe('seer-baseline');
    expect(e.made).toHaveLength(1);
    expect(e.made[0].running).toBe(false);
    // The main engine kept its bundle and its process.
    expect(e.engine.running).toBe(true);
    expect(e.engine.loaded?.bundle.name).toBe('seer-default');
    const c = compareResults(a, b);
    expect(c.changes[0].textDiff).toEqual([{ op: 'same', text: prompt }]);
    expect(c.layers.length).toBeGreaterThan(0);
  });

  it('says a failure of the other bundle is that bundle’s, not the main one’s, and still shuts its engine down', async () => {
    const broken = mkdtempSync(path.join(tmpdir(), 'seer-compare-'));
    dirs.push(broken);
    writeFileSync(path.join(broken, 'seer.json'), '{ not json');
    const e = engines();
    const err = await explainUnderBundle(e, DEFAULT, broken, prompt, {}).then(() => undefined, (x: unknown) => x);
    expect(err).toBeInstanceOf(EngineError);
    expect((err as EngineError).message).toMatch(new RegExp(`^Under the bundle ${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect((err as EngineError).category).not.toBe('bundle');
    expect(e.made[0].running).toBe(false);
    expect(e.engine.running).toBe(false); // never needed
  });
});

describe('the bundles offered as the second one', () => {
  it('are the folders with a seer.json beside the current bundle, by manifest name', async () => {
    const found = await bundlesIn(models);
    expect(found).toEqual(expect.arrayContaining([{ name: 'seer-default', dir: DEFAULT }, { name: 'seer-baseline', dir: BASELINE }]));
    expect(found.every((b) => existsSync(path.join(b.dir, 'seer.json')))).toBe(true);
  });

  it('is none in a folder without bundles', async () => {
    expect(await bundlesIn(path.join(root, 'docs'))).toEqual([]);
    expect(await bundlesIn(path.join(root, 'no-such-folder'))).toEqual([]);
  });
});

describe('the History entries a Compare shows', () => {
  // Only the id and the time matter here: comparedEntries orders and caps, it reads nothing else.
  const entry = (id: string, minute: number) => ({ id, createdAt: new Date(Date.UTC(2026, 0, 1, 12, minute)).toISOString() }) as ExplainEntry;

  it('are all of two to six selected, oldest first (A the earliest)', () => {
    const picked = [entry('c', 30), entry('a', 10), entry('b', 20)];
    expect(comparedEntries(picked)).toEqual({ sides: [picked[1], picked[2], picked[0]] });
    const six = Array.from({ length: MAX_COMPARE_SIDES }, (_, i) => entry(`e${i}`, 50 - i));
    expect(comparedEntries(six).sides.map((e) => e.id)).toEqual(six.map((e) => e.id).reverse());
    expect(comparedEntries(six).note).toBeUndefined();
  });

  it('are the first six selected of more, with a note that says so', () => {
    const eight = Array.from({ length: 8 }, (_, i) => entry(`e${i}`, i));
    const { sides, note } = comparedEntries(eight);
    expect(sides.map((e) => e.id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5']);
    expect(note).toBe('8 entries were selected; Compare shows at most 6, so the first 6 selected are compared.');
  });
});
