// Calibration throughput: rows/s and tokens/s of `seer calibrate` at batch 1 and larger batches, on a
// stratified subset of the MATH dataset (../shared) or, without it, on generated prompts of varied length.
// Usage: node bench/calibration.bench.mjs [--bundle DIR] [--rows N] [--batches 1,4,8,16,32]
// Writes bench/tmp/calibration-bench.json and bench/RESULTS-calibration.md.
import { parse } from 'csv-parse/sync';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, SHARED, TMP, fmt, requireBuild, seerJson, writeResults } from './common.mjs';

const { values } = parseArgs({
  options: {
    bundle: { type: 'string', default: path.join(ROOT, 'models', 'default') },
    rows: { type: 'string', default: '700' },
    batches: { type: 'string', default: '1,4,8,16,32' },
  },
});
requireBuild();
const rows = Number(values.rows);
const batches = values.batches.split(',').map(Number);
mkdirSync(TMP, { recursive: true });

const csvField = (s) => `"${String(s).replace(/"/g, '""')}"`;
const data = path.join(os.tmpdir(), `seer-bench-${process.pid}.csv`);
let source;
const math = path.join(SHARED, 'math', 'math-7concepts.csv');
if (existsSync(math)) {
  // Round-robin over concepts so any prefix is balanced; the file itself stays outside the project.
  const byConcept = new Map();
  for (const r of parse(readFileSync(math), { columns: true, bom: true })) {
    if (!byConcept.has(r.value)) byConcept.set(r.value, []);
    byConcept.get(r.value).push(r.prompt);
  }
  const lines = ['prompt,value'];
  for (let i = 0; lines.length <= rows; i++) for (const [c, ps] of byConcept) if (lines.length <= rows && ps[i]) lines.push(`${csvField(ps[i])},${csvField(c)}`);
  writeFileSync(data, lines.join('\n'));
  source = `${rows} rows of ../shared/datasets/math/math-7concepts.csv (round-robin over the 7 concepts)`;
} else {
  const words = 'the of model layer concept prompt number angle triangle prime integer probability function'.split(' ');
  const lines = ['prompt,value'];
  for (let i = 0; i < rows; i++) lines.push(`${csvField(Array.from({ length: 8 + ((i * 37) % 120) }, (_, k) => words[(i + k * 7) % words.length]).join(' '))},c${i % 7}`);
  writeFileSync(data, lines.join('\n'));
  source = `${rows} generated prompts (8–127 words; ../shared absent)`;
}

const results = [];
const out = path.join(os.tmpdir(), `seer-bench-bank-${process.pid}.json`);
const outMap = out.replace(/\.json$/, '.map.json'); // calibrate writes the bank's concept map beside it
const removeBank = () => [out, outMap].forEach((f) => rmSync(f, { force: true }));
process.on('exit', () => rmSync(data, { force: true }) ?? removeBank());
for (const batch of batches) {
  removeBank(); // each batch size calibrates afresh (calibrate never replaces a bank)
  const r = seerJson(['calibrate', data, '--label', 'value', '--bundle', values.bundle, '--out', out, '--batch', String(batch), '--provider', 'cpu']);
  results.push({ batch, seconds: r.seconds, examplesPerSecond: r.examplesPerSecond, tokensPerSecond: r.tokensPerSecond });
  console.log(`batch ${String(batch).padStart(3)}: ${fmt(r.examplesPerSecond, 1)} rows/s, ${Math.round(r.tokensPerSecond)} tokens/s (${fmt(r.seconds, 1)} s)`);
}
const best = results.reduce((a, b) => (b.examplesPerSecond > a.examplesPerSecond ? b : a));
const one = results.find((r) => r.batch === 1);
const summary = one ? `best batch ${best.batch}: ${fmt(best.examplesPerSecond / one.examplesPerSecond, 2)}× the rows/s of batch 1` : `best batch ${best.batch}`;
console.log(summary);

const meta = { date: new Date().toISOString(), bundle: path.relative(ROOT, path.resolve(values.bundle)), source, cpus: os.cpus().length, node: process.version };
const json = path.join(TMP, 'calibration-bench.json');
writeFileSync(`${json}.tmp`, JSON.stringify({ ...meta, results, best: best.batch }, null, 2));
renameSync(`${json}.tmp`, json);
const md = [
  `Calibration throughput (\`npm run bench:calibration\`, ${meta.date.slice(0, 16)} UTC): \`seer calibrate\` on ${source},`,
  `bundle \`${meta.bundle}\`, CPU provider, ${meta.cpus} cores, Node ${meta.node}. Seconds include reading the file twice (scan + model pass), not loading the model.`,
  '',
  '| batch | rows/s | tokens/s | seconds |',
  '|---:|---:|---:|---:|',
  ...results.map((r) => `| ${r.batch}${r.batch === best.batch ? ' (best)' : ''} | ${fmt(r.examplesPerSecond, 1)} | ${Math.round(r.tokensPerSecond)} | ${fmt(r.seconds, 1)} |`),
  '',
  summary + '.',
  '',
].join('\n');
console.log(`written: ${path.relative(ROOT, json)}`);
writeResults('RESULTS-calibration.md', md);
