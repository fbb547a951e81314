// The concept map end to end with the real engine and CLI, on a bundle the trainer builds (trainerBundle.ts; the
// committed models may be mid-rebuild): `seer calibrate` writes <bank>.map.json beside the bank, `seer explain`
// places the prompt on it, `seer concept-map` recomputes the same map for an existing bank (the embedded models'
// route, scripts/build-model.sh), and `seer eval --compare-bundle --html` draws both bundles' maps side by side.
import { existsSync, mkdtempSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConceptMapView, ExplainResult } from '../../common/protocol';
import { ROOT, runSeer } from './helpers';
import { topicsCsv } from '../calibration/fixtures';
import { buildCheckpoint, importBundles, trainerMissing } from './trainerBundle';

const TIMEOUT = 240_000;
const skipReason = trainerMissing();
if (skipReason) console.warn(`skipping concept map CLI tests: ${skipReason}`);

/** Three topics with distinct vocabulary, `n` rows each. */
function ok(r: { code: number | null; stdout: string; stderr: string }): string {
  expect(r.stderr.match(/^error: .*/m)?.[0] ?? '').toBe('');
  expect(r.code).toBe(0);
  return r.stdout;
}

describe.skipIf(skipReason)('the concept map through the CLI', () => {
  let tmp: string;
  let bundle: string;
  let twin: string;
  let csv: string;
  const mapFile = () => path.join(bundle, 'banks', 'default.map.json');
  /** A calibration row's own text: placed, it must land on its own point. */
  const ROW = 'How do I reverse a list in Python, variant 3?';
  const explain = (): ExplainResult => JSON.parse(ok(runSeer(['explain', ROW, '--json', '--bundle', bundle, '--provider', 'cpu'], { timeoutMs: TIMEOUT })));

  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-map-'));
    bundle = path.join(tmp, 'bundle');
    twin = path.join(tmp, 'twin');
    importBundles(buildCheckpoint(tmp), [{ out: bundle }, { out: twin }]);
    csv = path.join(tmp, 'topics.csv');
    writeFileSync(csv, topicsCsv(12));
    for (const b of [bundle, twin]) {
      ok(runSeer(['calibrate', csv, '--label', 'value', '--bundle', b, '--bank-name', 'default', '--into-bundle', '--provider', 'cpu'], { timeoutMs: TIMEOUT }));
    }
  }, TIMEOUT);
  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('calibrate writes the map beside the bank, and explain places the prompt on it', () => {
    expect(existsSync(mapFile())).toBe(true);
    const r = explain();
    const map = r.conceptMap as ConceptMapView;
    expect(map.status).toBe('ok');
    expect(map.bank).toBe('default');
    expect(map.layer).toBe(r.targetLayer);
    expect(map.points.x).toHaveLength(36); // every row: 3 concepts × 12, under the quota
    expect(map.points.text[0]).toMatch(/variant \d+\?$/);
    const own = map.points.text.indexOf(ROW);
    expect(own).toBeGreaterThanOrEqual(0);
    expect(map.prompt!.neighbours[0]).toBe(own);
    expect(map.prompt!.nearestCosine).toBeGreaterThan(0.9999);
    expect(Math.hypot(map.prompt!.x - map.points.x[own], map.prompt!.y - map.points.y[own])).toBeLessThan(0.01);
  }, TIMEOUT);

  it('seer concept-map recomputes the same map for an existing bank; without a map explain says how to get one', async () => {
    const before = readFileSync(mapFile(), 'utf8');
    await fs.rm(mapFile());
    expect(explain().conceptMap).toEqual({ status: 'missing', message: 'No concept map for this bank: recalibrate to add one.' });
    const out = JSON.parse(ok(runSeer(['concept-map', csv, '--label', 'value', '--bundle', bundle, '--json', '--provider', 'cpu'], { timeoutMs: TIMEOUT })));
    expect(out).toEqual({ bank: 'default', mapPath: await fs.realpath(mapFile()), points: 36 });
    expect(readFileSync(mapFile(), 'utf8')).toBe(before); // one implementation, one seed: the same bytes
  }, TIMEOUT);

  it('reads the JSONL rows the trainer writes (scripts/build-model.sh), whatever order they list the concepts in', async () => {
    const before = readFileSync(mapFile(), 'utf8');
    try {
      // The CSV's rows as the trainer's calibration-rows.jsonl, travel first: the map keeps the bank's concept order.
      const rows = readFileSync(csv, 'utf8').trim().split('\n').slice(1).map((line) => {
        const [, prompt, concept] = /^"(.*)",(\w+)$/.exec(line)!;
        return { prompt, concept };
      });
      const ordered = [...rows.filter((r) => r.concept === 'travel'), ...rows.filter((r) => r.concept !== 'travel')];
      const jsonl = path.join(tmp, 'calibration-rows.jsonl');
      writeFileSync(jsonl, ordered.map((r) => JSON.stringify(r)).join('\n') + '\n');
      ok(runSeer(['concept-map', jsonl, '--text', 'prompt', '--label', 'concept', '--bundle', bundle, '--provider', 'cpu'], { timeoutMs: TIMEOUT }));
      const map = JSON.parse(readFileSync(mapFile(), 'utf8'));
      expect(map.concepts).toEqual(['cooking', 'coding', 'travel']);
      map.points.text.forEach((t: string, i: number) => expect(rows.find((r) => r.prompt === t)!.concept).toBe(map.concepts[map.points.concept[i]]));
    } finally {
      writeFileSync(mapFile(), before);
    }
  }, TIMEOUT);

  it('refuses a dataset whose concepts are not the bank\'s, writing nothing', async () => {
    const other = path.join(tmp, 'other.csv');
    writeFileSync(other, 'prompt,value\na,x\nb,x\nc,y\nd,y\n');
    const before = readFileSync(mapFile(), 'utf8');
    const r = runSeer(['concept-map', other, '--label', 'value', '--bundle', bundle, '--provider', 'cpu'], { timeoutMs: TIMEOUT });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/has the concepts x, y; bank "default" has cooking, coding, travel/);
    expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(readFileSync(mapFile(), 'utf8')).toBe(before);
  }, TIMEOUT);

  it('a damaged map file does not stop explain: the result says why there is no map', () => {
    const before = readFileSync(mapFile(), 'utf8');
    try {
      writeFileSync(mapFile(), before.replace('"seer-concept-map"', '"something-else"'));
      const map = explain().conceptMap!;
      expect(map.status).toBe('invalid');
      expect(map.status === 'invalid' && map.message).toMatch(/"format" must be "seer-concept-map"/);
    } finally {
      writeFileSync(mapFile(), before);
    }
  }, TIMEOUT);

  it('seer eval --compare-bundle --html draws both bundles\' maps side by side', () => {
    const html = path.join(tmp, 'report.html');
    ok(runSeer(['eval', csv, '--label', 'value', '--bundle', bundle, '--compare-bundle', twin, '--html', html, '--provider', 'cpu'], { timeoutMs: TIMEOUT }));
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('<h2>Concept map</h2>');
    expect(page.match(/<svg[^>]*class="chart concept-map"/g)).toHaveLength(2);
    expect(page.match(/class="map-point"/g)).toHaveLength(72);
    expect(page).not.toContain('prompt-marker'); // a report has no prompt
  }, TIMEOUT);
});
