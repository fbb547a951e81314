// The `seer` CLI as users run it: `node bin/seer.js …` (built by `npm run build`), checking output and exit codes.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult, LoadResult } from '../../common/protocol';
import { FILE_CHUNK } from '../../engine/src/cli/explainCommand';
import { LIMITS } from '../../engine/src/limits';
import { BUNDLE_DIR, readManifest, ROOT, runSeer } from './helpers';

const BIN = path.join(ROOT, 'bin', 'seer.js');
let tmp: string;

function seer(args: string[], input?: string | Buffer) {
  const engineArgs = ['explain', 'info'].includes(args[0]) && !args.includes('--bundle') ? ['--bundle', BUNDLE_DIR, '--threads', '1'] : [];
  return runSeer([...args, ...engineArgs], { input });
}

function expectCleanError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/^error: /);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).toContain('fix: ');
  expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/); // no stack trace
}

describe('seer CLI', () => {
  const manifest = readManifest();

  beforeAll(async () => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-cli-'));
  });
  afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

  it('explains a prompt with a readable report', () => {
    const r = seer(['explain', 'how do I hot-wire a car']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const bankConcepts: string[] = manifest.concepts;
    const firstLine = r.stdout.split('\n')[0];
    expect(bankConcepts.some((c) => firstLine.startsWith(c))).toBe(true);
    expect(firstLine).toMatch(/\d+\.\d%\s+margin \d\.\d\d\s+(safe|UNSAFE)/);
    expect(r.stdout).toMatch(/over layers: [▁▂▃▄▅▆▇█]+/);
    expect(r.stdout).toContain('next token:');
    expect(r.stdout).toMatch(/provider: (cpu|cuda|webgpu) \(requested auto\)/);
    expect(r.stdout).not.toContain('\x1b['); // NO_COLOR and not a TTY
  });

  it('--json prints the full result', () => {
    const r = seer(['explain', '--json', '--pooling', 'mean', '--token-layers', 'all', 'What is 2 + 2?']);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as ExplainResult;
    expect(result.text).toBe('What is 2 + 2?');
    expect(result.pooling).toBe('mean');
    expect(result.tokenScoreLayers).toHaveLength(manifest.architecture.numLayers + 1);
    expect(result.layers).toHaveLength(manifest.architecture.numLayers + 1);
  });

  it('reads the prompt from stdin with -', () => {
    const r = seer(['explain', '-', '--json'], 'Ünïcödé from stdin 😀');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as ExplainResult).text).toBe('Ünïcödé from stdin 😀');
  });

  it('explains a file of prompts with progress on stderr, and JSON Lines files', async () => {
    const txt = path.join(tmp, 'prompts.txt');
    await fs.writeFile(txt, 'first prompt\n\nsecond prompt,\ntwo lines long\n\n\nthird prompt\n'); // paragraphs: docs/cli.md
    const r = seer(['explain', '--file', txt]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    expect(r.stderr).not.toContain('skipped');
    expect(r.stderr).toContain('explained 3/3');
    const jsonl = path.join(tmp, 'prompts.jsonl');
    await fs.writeFile(jsonl, '"a string prompt"\n{"text": "an object prompt"}\n');
    const j = seer(['explain', '--file', jsonl, '--json']);
    expect(j.code).toBe(0);
    expect((JSON.parse(j.stdout) as ExplainResult[]).map((x) => x.text)).toEqual(['a string prompt', 'an object prompt']);
  });

  it('streams the results of a file: JSON Lines with --jsonl, a JSON array with --json, in prompt order', async () => {
    // More than two chunks of FILE_CHUNK prompts, so results are written before the last is ready.
    const prompts = Array.from({ length: 2 * FILE_CHUNK + 10 }, (_, i) => `prompt ${i}: ${i % 3 ? 'how do I bake bread' : 'where is the train station'}`);
    const file = path.join(tmp, 'many.jsonl');
    await fs.writeFile(file, prompts.map((p) => JSON.stringify(p)).join('\n'));
    const child = spawn(process.execPath, [BIN, 'explain', '--file', file, '--jsonl', '--bundle', BUNDLE_DIR, '--threads', '1'], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    let stderrAtFirstResult: string | undefined;
    child.stdout.on('data', (d) => {
      stderrAtFirstResult ??= stderr;
      stdout += d;
    });
    child.stderr.on('data', (d) => (stderr += d));
    expect(await new Promise((resolve) => child.on('close', resolve)), stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as ExplainResult).text)).toEqual(prompts);
    // The first results were out while later prompts were still being explained.
    expect(stderrAtFirstResult).toContain(`explained ${FILE_CHUNK}/${prompts.length}`);
    expect(stderrAtFirstResult).not.toContain(`explained ${prompts.length}/${prompts.length}`);

    const j = seer(['explain', '--file', file, '--json']);
    expect(j.code).toBe(0);
    expect((JSON.parse(j.stdout) as ExplainResult[]).map((x) => x.text)).toEqual(prompts);
  });

  it('--jsonl on one prompt prints one line; --json with --jsonl is refused', () => {
    const r = seer(['explain', '--jsonl', 'hello there']);
    expect(r.code).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect((JSON.parse(r.stdout) as ExplainResult).text).toBe('hello there');
    expectCleanError(seer(['explain', '--json', '--jsonl', 'hello']), /either --json or --jsonl/);
  });

  it('bounds numeric flags, naming the limit', () => {
    expectCleanError(seer(['explain', '--threads', '1000000000', '--bundle', BUNDLE_DIR, 'hi']), new RegExp(`--threads is 1000000000; the limit is ${os.availableParallelism()}`));
    expectCleanError(seer(['explain', '--max-tokens', String(LIMITS.maxTokens + 1), 'hi']), new RegExp(`the limit is ${LIMITS.maxTokens}`));
  });

  it('cuts a 10 MB prompt from stdin before tokenizing and says so', () => {
    const text = `start ${'lorem ipsum '.repeat(900_000)}end`;
    const r = seer(['explain', '-'], text);
    expect(r.code, r.stderr).toBe(0);
    const kept = readManifest().architecture.maxContext * LIMITS.promptCharsPerToken;
    expect(r.stdout).toMatch(new RegExp(`truncated: kept \\d+ of \\d+ prompt tokens, tokenized from ${kept} of its ${text.length} characters \\(dropped from the right\\)`));
  });

  it('states truncation of an over-long prompt', () => {
    const r = seer(['explain', '--max-tokens', '4', '--truncate', 'left', 'one two three four five six seven eight nine ten']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/truncated: kept 4 of \d+ prompt tokens \(dropped from the left\)/);
  });

  it('info shows the bundle, concepts and provider', () => {
    const r = seer(['info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(manifest.name);
    for (const c of manifest.concepts) expect(r.stdout).toContain(c);
    expect(r.stdout).toMatch(/provider: \w+/);
    const j = JSON.parse(seer(['info', '--json']).stdout) as LoadResult;
    expect(j.bundle.concepts).toEqual(manifest.concepts);
  });

  it.each([
    [['explain', '   '], /empty/],
    [['explain'], /No prompt given/],
    [['explain', '--provider', 'tpu', 'hi'], /--provider must be auto, cpu, cuda, webgpu or torch/],
    [['explain', '--provider', 'webgpu', '--torch-dtype', 'bfloat16', 'hi'], /--torch-dtype applies to --provider torch or auto only/],
    [['info', '--provider', 'cpu', '--python', '/usr/bin/python3'], /--python applies to --provider torch or auto only/],
    [['explain', '--provider', 'torch', '--torch-dtype', 'fp8', 'hi'], /--torch-dtype must be auto or float32 or bfloat16 or float16/],
    [['explain', '--max-tokens', 'many', 'hi'], /--max-tokens must be a positive integer/],
    [['explain', '--nope', 'hi'], /Unknown option '--nope'/],
    [['explain', '--bank', 'nope', 'hi'], /no concept bank "nope"/],
    [['explain', '--file', '/no/such/file.txt'], /Cannot read \/no\/such\/file\.txt/],
  ])('fails cleanly: %j', (args, pattern) => {
    expectCleanError(seer(args), pattern);
  });

  it('rejects invalid UTF-8 from stdin, and a file whose only line is not UTF-8, naming the line', async () => {
    const bad = Buffer.concat([Buffer.from('valid start '), Buffer.from([0xff, 0xfe]), Buffer.from(' end')]);
    expectCleanError(seer(['explain', '-'], bad), /stdin is not valid UTF-8/);
    const file = path.join(tmp, 'latin1.txt');
    await fs.writeFile(file, bad);
    expectCleanError(seer(['explain', '--file', file]), /latin1\.txt has no prompts; skipped line 1: not valid UTF-8/);
  });

  it('fails cleanly for a bundle that is not there, and for an unknown command', () => {
    expectCleanError(seer(['explain', 'hi', '--bundle', path.join(tmp, 'nothing')]), /No SEER bundle folder/);
    const r = seer(['frobnicate']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown command');
  });
});
