// The 2-D concept map: computed by calibrate on a synthetic model of known geometry (syntheticModel.ts),
// stored beside the bank, read back with the same care as a bank, and the prompt placed on it.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { f16round, setFloat16 } from '@petamoriken/float16';
import { saveBank } from '../../engine/src/calibration/bankFile';
import { calibrate } from '../../engine/src/calibration/calibrate';
import { conceptMapView, exampleCosines, mapQuota, placeOnConceptMap } from '../../engine/src/calibration/conceptMap';
import { conceptMapFileFor, conceptMapLimit, conceptMapToJson, loadConceptMap, parseConceptMap, readConceptMapFile } from '../../engine/src/bundle/conceptMapFile';
import { addUserBanks } from '../../engine/src/bundle/userBanks';
import { SeerError } from '../../engine/src/errors';
import { LIMITS } from '../../engine/src/limits';
import { conceptCsv, tempDir, writeFixture } from './fixtures';
import { SyntheticModel, syntheticFacts } from './syntheticModel';

const dir = tempDir();
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const concepts = ['algebra', 'geometry', 'biology', 'law'];
const facts = syntheticFacts(dir);
const params = { path: writeFixture(dir, 'train.csv', conceptCsv(concepts, 30)), textColumns: ['prompt'], labelColumn: 'value', bankName: 'topics' };
const outcome = calibrate(new SyntheticModel(), facts, params);

function refusal(fn: () => unknown): SeerError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(SeerError);
  return caught as SeerError;
}

/** The stored JSON of the test bank's map, with `edit` applied (a damaged or hostile file). */
async function mapJson(edit: (j: Record<string, any>) => void = () => undefined): Promise<Record<string, any>> {
  const j = JSON.parse(JSON.stringify(conceptMapToJson((await outcome).conceptMap)));
  edit(j);
  return j;
}

describe('computing the concept map at calibration', () => {
  it('samples every concept (all rows up to the quota) at the target layer, with each example text', async () => {
    const { conceptMap: map, bank } = await outcome;
    expect(map.layer).toBe(facts.targetLayers[0]);
    expect(map.concepts).toEqual(bank.concepts);
    expect(map.pooling).toBe(bank.pooling);
    const perConcept = concepts.map((_, c) => map.points.concept.filter((k) => k === c).length);
    expect(perConcept).toEqual(concepts.map(() => Math.min(30, mapQuota(concepts.length))));
    map.points.concept.forEach((c, i) => expect(map.points.text[i].startsWith(concepts[c])).toBe(true));
    const coordinates = [...map.points.x, ...map.points.y];
    expect(Math.min(...coordinates)).toBe(0); // scaled to [0, 1]: the extremes touch both ends
    expect(Math.max(...coordinates)).toBe(1);
  });

  it('is deterministic for a seed, and another seed gives another layout', async () => {
    const again = await calibrate(new SyntheticModel(), facts, params);
    expect(again.conceptMap.points).toEqual((await outcome).conceptMap.points);
    const other = await calibrate(new SyntheticModel(), facts, { ...params, seed: 7 });
    expect(other.conceptMap.points.x).not.toEqual((await outcome).conceptMap.points.x);
  });

  it('keeps concepts apart where the representation separates them', async () => {
    // At the target layer the synthetic concepts are well separated: an example's nearest 2-D neighbour shares its concept.
    const { points } = (await outcome).conceptMap;
    const n = points.x.length;
    let same = 0;
    for (let i = 0; i < n; i++) {
      let best = -1;
      for (let j = 0; j < n; j++) {
        if (j !== i && (best < 0 || Math.hypot(points.x[j] - points.x[i], points.y[j] - points.y[i]) < Math.hypot(points.x[best] - points.x[i], points.y[best] - points.y[i]))) best = j;
      }
      if (points.concept[best] === points.concept[i]) same++;
    }
    expect(same / n).toBeGreaterThan(0.9);
  });
});

describe('placing a prompt', () => {
  it('puts a calibration example on its own point', async () => {
    const map = (await outcome).conceptMap;
    map.vectors.forEach((v, i) => {
      const place = placeOnConceptMap(map, exampleCosines(map, v));
      expect(place.neighbours[0]).toBe(i);
      expect(place.nearestCosine).toBeCloseTo(1, 5);
      expect(Math.hypot(place.x - map.points.x[i], place.y - map.points.y[i])).toBeLessThan(0.01);
    });
  });

  it('places a new prompt among its concept, and not at all when pooled otherwise than the map', async () => {
    const map = (await outcome).conceptMap;
    const [rep] = await new SyntheticModel().represent(['law a new question never seen'], { pooling: 'last' });
    const cosines = exampleCosines(map, rep.layers[map.layer]);
    const view = conceptMapView(map, cosines, 'last');
    expect(view.prompt!.neighbours.every((i) => concepts[map.points.concept[i]] === 'law')).toBe(true);
    const other = conceptMapView(map, cosines, 'mean');
    expect(other.prompt).toBeNull();
    expect(other.note).toContain('mean');
  });
});

describe('the map file', () => {
  it('is written beside the bank, its vectors as float16, and reads back what was written', async () => {
    const { bank, conceptMap } = await outcome;
    const users = path.join(dir, 'users');
    const file = await saveBank(bank, facts, { userBankDir: users, conceptMap });
    const mapFile = conceptMapFileFor(file);
    expect(mapFile).toBe(file.replace(/\.json$/, '.map.json'));
    const read = await readConceptMapFile(mapFile, bank);
    expect(read.points).toEqual(conceptMap.points);
    // Each component rounded to the nearest float16 (Math.f16round's rounding), and nothing else changed.
    expect(read.vectors.map((v) => Array.from(v))).toEqual(conceptMap.vectors.map((v) => Array.from(v, (x) => f16round(x))));
    expect(JSON.parse(readFileSync(mapFile, 'utf8')).vectors.encoding).toBe('float16-le-base64');
    expect(read.projection).toEqual(conceptMap.projection);
    // The bank folder's listing is not fooled into reading the map as a bank.
    const skipped: string[] = [];
    const banks = new Map();
    await addUserBanks(path.dirname(file), banks, async (f) => ({ ...bank, file: f }), (m) => skipped.push(m));
    expect([...banks.keys()]).toEqual(['topics']);
    expect(skipped).toEqual([]);
    // Replacing the bank without a map removes the old map: it would show another calibration's examples.
    await saveBank(bank, facts, { userBankDir: users, force: true });
    expect(existsSync(mapFile)).toBe(false);
    expect(await loadConceptMap(bank, file)).toEqual({ status: 'missing', message: 'No concept map for this bank: recalibrate to add one.' });
  });

  it.each([
    ['another format', (j: any) => (j.format = 'seer-concept-bank'), /"format" must be "seer-concept-map"/],
    ['another model', (j: any) => (j.modelSha256 = 'other'), /"modelSha256" is not the model of bank "topics"/],
    ['other concepts', (j: any) => j.concepts.reverse(), /"concepts" must be the concepts of bank "topics"/],
    ['a layer the bank lacks', (j: any) => (j.layer = 99), /"layer" must be at most 4/],
    ['a concept index out of range', (j: any) => (j.points.concept[3] = 9), /"points.concept\[3\]" must be a concept index from 0 to 3, got 9/],
    ['a coordinate outside [0, 1]', (j: any) => (j.points.y[0] = 2), /"points.y\[0\]" must be in \[0, 1\]/],
    ['a missing text', (j: any) => j.points.text.pop(), /"points.text" must have \d+ entries/],
    ['truncated vectors', (j: any) => (j.vectors.data = j.vectors.data.slice(0, 40)), /"vectors.data" must hold \d+ float16 values/],
    ['float32 vectors of the wrong length', (j: any) => (j.vectors.encoding = 'float32-le-base64'), /"vectors.data" must hold \d+ float32 values/],
    ['an unknown encoding', (j: any) => (j.vectors.encoding = 'int8'), /"vectors.encoding" must be one of/],
    ['vectors that are not base64', (j: any) => (j.vectors.data = '<script>'), /"vectors.data" must be base64/],
    ['too many examples', (j: any) => (j.points.concept = Array(LIMITS.conceptMapPoints + 1).fill(0)), /has 401 examples; the limit is 400/],
  ])('refuses %s with a message that names the field', async (_what, edit, message) => {
    const { bank } = await outcome;
    const json = await mapJson(edit);
    const err = refusal(() => parseConceptMap(json, 'bad.map.json', bank));
    expect(err.code).toBe('BANK_INVALID');
    expect(err.message).toMatch(message);
    expect(err.message.startsWith('bad.map.json: ')).toBe(true);
  });

  it('refuses vectors that are not unit length (a hand-made or damaged file)', async () => {
    const { bank } = await outcome;
    const json = await mapJson((j) => {
      const bytes = Buffer.from(j.vectors.data, 'base64');
      setFloat16(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, 5, true);
      j.vectors.data = bytes.toString('base64');
    });
    expect(refusal(() => parseConceptMap(json, 'bad.map.json', bank)).message).toMatch(/vectors\.data.*\(example 0\) must have length 1/);
  });

  it('reads a map whose vectors are float32 (as maps written before 2026-11-29 hold them) exactly', async () => {
    const { bank, conceptMap } = await outcome;
    const json = await mapJson((j) => {
      const bytes = Buffer.alloc(conceptMap.vectors.length * conceptMap.hiddenSize * 4);
      conceptMap.vectors.forEach((v, i) => v.forEach((x, k) => bytes.writeFloatLE(x, (i * conceptMap.hiddenSize + k) * 4)));
      j.vectors = { encoding: 'float32-le-base64', data: bytes.toString('base64') };
    });
    expect(parseConceptMap(json, 'old.map.json', bank).vectors).toEqual(conceptMap.vectors);
  });

  it('refuses an oversized file before reading it, and explain gets the reason instead of a map', async () => {
    const { bank } = await outcome;
    const bankFile = path.join(dir, 'big', 'topics.json');
    mkdirSync(path.dirname(bankFile), { recursive: true });
    const mapFile = conceptMapFileFor(bankFile);
    writeFileSync(mapFile, '');
    truncateSync(mapFile, conceptMapLimit(bank.hiddenSize).bytes + 1); // sparse: nothing is really written
    const err = await readConceptMapFile(mapFile, bank).then(() => undefined, (e: unknown) => e as SeerError);
    expect(err).toBeInstanceOf(SeerError);
    expect(err!.message).toMatch(/too large: a concept map of at most 400 examples × 16 hidden is at most/);
    const absent = await loadConceptMap(bank, bankFile);
    expect(absent).toMatchObject({ status: 'invalid' });
    expect((absent as { message: string }).message).toContain('too large');
    writeFileSync(mapFile, '{"format": "seer-concept-map",');
    expect(await loadConceptMap(bank, bankFile)).toMatchObject({ status: 'invalid', message: expect.stringContaining('is not valid JSON') });
    expect(readFileSync(mapFile, 'utf8')).toBe('{"format": "seer-concept-map",'); // nothing is rewritten
    // A map that is a link out of the bank's folder is not read (a hostile bundle's banks/x.map.json → /etc/passwd).
    rmSync(mapFile);
    symlinkSync('/etc/passwd', mapFile);
    expect(await loadConceptMap(bank, bankFile)).toMatchObject({ status: 'invalid', message: expect.stringContaining('leads outside the bundle folder') });
  });
});
