// One set of prompt files (test/fixtures/prompts/) read both ways a user reads them: through the engine API the
// extension calls (parsePromptFile) and through the CLI (`node bin/seer.js explain --file F --json`, built by
// `npm run build`). Both must give the same prompts and the same skipped lines, or fail with the same message.
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainResult } from '../../common/protocol';
import { parsePromptFile, type PromptFile, readPromptFile, SeerError } from '../../engine/src/api';
import { decodeTextStream } from '../../engine/src/input/encoding';
import { BUNDLE_DIR, ROOT } from './helpers';

const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'prompts');
const fixture = (name: string) => path.join(FIXTURES, name);

/** What each fixture holds, by the rules in docs/cli.md ("Prompt files"): [line, prompt, last line when not the
 * same] and [line, reason]. */
type ExpectedPrompt = [number, string] | [number, string, number];
const EXPECTED: Record<string, { prompts: ExpectedPrompt[]; skipped: [number, string][] }> = {
  'questions.txt': {
    prompts: [
      [1, 'How do I reset a forgotten router password?'],
      [3, 'Summarise this for a ten-year-old:\nPhotosynthesis turns light, water and air into sugar.', 4],
      [8, '  What rhymes with orange?'],
      [10, "Translate 'good morning' into Welsh."],
    ],
    skipped: [],
  },
  'notes.md': {
    prompts: [
      [1, '# Prompts to try'],
      [3, 'Write a haiku about *autumn* rain.'],
      [5, '- list three uses of baking soda\n- and one it is bad for', 6],
    ],
    skipped: [],
  },
  'prompts.jsonl': {
    prompts: [
      [1, 'Is a tomato a fruit?'],
      [2, 'Name the largest moon of Saturn.'],
      [3, 'Explain recursion with an example.'],
      [6, 'Give me a synonym for quick.'],
      [9, 'When prompt is not a string, text is used.'],
    ],
    skipped: [
      [4, 'not valid JSON'],
      [7, 'no "prompt", "text" or "input" string'],
      [8, 'empty prompt'],
      [10, 'no "prompt", "text" or "input" string'],
    ],
  },
  'prompts.csv': {
    prompts: [
      [2, 'Write a limerick\nabout a cat.', 3],
      [4, 'Compare apples, oranges and pears.'],
      [8, 'Why do people say "break a leg"?'],
    ],
    skipped: [
      [5, 'no "prompt" field (the row has 1)'],
      [7, 'empty prompt'],
    ],
  },
  'prompts.tsv': {
    prompts: [
      [2, 'What does "idempotent" mean?'],
      [3, 'How far is the Moon?'],
    ],
    skipped: [],
  },
  'questions.csv': {
    prompts: [
      [2, 'What is the capital of Peru?'],
      [3, 'How many legs has a spider?'],
    ],
    skipped: [[1, 'header row; no "prompt", "text" or "input" column, so prompts are read from the first column ("question")']],
  },
  'latin1.txt': {
    prompts: [
      [1, 'Order a coffee, please.'],
      [5, 'Where is the station?'],
    ],
    skipped: [[3, 'not valid UTF-8']],
  },
};

/** Files that hold no prompt at all: the code and message both ways in. */
const REFUSED: Record<string, { code: string; message: RegExp }> = {
  'binary.txt': { code: 'BAD_INPUT', message: /binary\.txt looks like binary data \(it contains NUL bytes\)/ },
  'empty.txt': { code: 'EMPTY_INPUT', message: /empty\.txt is empty/ },
};

const asFile = (e: { prompts: ExpectedPrompt[]; skipped: [number, string][] }): PromptFile => ({
  prompts: e.prompts.map(([line, text, lastLine]) => ({ line, text, lastLine: lastLine ?? line })),
  skipped: e.skipped.map(([line, reason]) => ({ line, reason })),
});

function errorOf(fn: () => unknown): SeerError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(SeerError);
    return e as SeerError;
  }
  throw new Error('expected an error');
}

describe('prompt files through the engine API (the extension\'s way in)', () => {
  it('finds every fixture of the shared set here', () => {
    expect(Object.keys({ ...EXPECTED, ...REFUSED }).sort()).toEqual(readdirSync(FIXTURES).sort());
  });

  it.each(Object.keys(EXPECTED))('%s', (name) => {
    expect(parsePromptFile(fixture(name), readFileSync(fixture(name)))).toEqual(asFile(EXPECTED[name]));
  });

  it.each(Object.keys(REFUSED))('refuses %s', (name) => {
    const err = errorOf(() => parsePromptFile(fixture(name), readFileSync(fixture(name))));
    expect(err.code).toBe(REFUSED[name].code);
    expect(err.message).toMatch(REFUSED[name].message);
    expect(err.fixFor('editor')).toBeTruthy();
  });

  it('says what was skipped, and how to convert, when no line is usable', () => {
    const err = errorOf(() => parsePromptFile('all-latin1.txt', Buffer.from('Caf\xe9?\n\nTh\xe9?\n', 'latin1')));
    expect(err.code).toBe('EMPTY_INPUT');
    expect(err.message).toBe('all-latin1.txt has no prompts; skipped line 1: not valid UTF-8; line 3: not valid UTF-8.');
    expect(err.fixFor('cli')).toContain('iconv -f latin1 -t utf-8');
    const jsonl = errorOf(() => parsePromptFile('p.jsonl', Buffer.from('{"label": 1}\n')));
    expect(jsonl.fixFor('cli')).toMatch(/one prompt per line/);
  });

  it('refuses an unclosed CSV quote (it would swallow every later row), naming the line where it opens', () => {
    const err = errorOf(() => parsePromptFile('q.csv', Buffer.from('prompt\nfine\n\n"never closed\nlost row\n')));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toBe('q.csv: line 4: a quote opened here is never closed (the rest of the file would become one field).');
  });

  it('refuses a UTF-16 file with the conversion command', () => {
    const err = errorOf(() => parsePromptFile('w.txt', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello\n', 'utf16le')])));
    expect(err.message).toMatch(/w\.txt is UTF-16/);
    expect(err.fixFor('cli')).toContain('iconv -f UTF-16 -t UTF-8');
  });
});

describe('readPromptFile', () => {
  let tmp: string;
  beforeAll(async () => {
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-prompts-'));
  });
  afterAll(async () => fs.rm(tmp, { recursive: true, force: true }));

  it('reads a file as parsePromptFile parses its bytes', async () => {
    expect(await readPromptFile(fixture('prompts.csv'))).toEqual(asFile(EXPECTED['prompts.csv']));
  });

  it('refuses a missing file and one too large to read whole, before reading it', async () => {
    await expect(readPromptFile(path.join(tmp, 'absent.txt'))).rejects.toMatchObject({ code: 'FILE_NOT_FOUND', message: expect.stringContaining('ENOENT') });
    const big = path.join(tmp, 'big.txt');
    await fs.writeFile(big, '');
    await fs.truncate(big, 17 * 2 ** 20); // sparse: no 17 MB written
    await expect(readPromptFile(big)).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringContaining('up to 16 MB') });
  });
});

describe('decodeTextStream', () => {
  it('decodes like the whole-file rule when a CRLF or a UTF-8 character is split between chunks', async () => {
    const bytes = Buffer.from('\ufeffa\r\nb\u00e9\rc\r\n');
    const chunks = [bytes.subarray(0, 5), bytes.subarray(5, 8), bytes.subarray(8, 11), bytes.subarray(11)];
    let text = '';
    for await (const t of decodeTextStream(chunks)) text += t;
    expect(text).toBe('a\nb\u00e9\nc\n');
  });
});

describe('prompt files through the CLI (`seer explain --file`)', () => {
  const BIN = path.join(ROOT, 'bin', 'seer.js');
  beforeAll(() => {
    if (!existsSync(path.join(ROOT, 'dist', 'cli.js'))) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  });

  function explainFile(name: string) {
    const r = spawnSync(process.execPath, [BIN, 'explain', '--file', fixture(name), '--json', '--bundle', BUNDLE_DIR, '--threads', '1'], {
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 60_000,
    });
    const skipped = [...r.stderr.matchAll(/^skipped line (\d+): (.*)$/gm)].map((m) => ({ line: Number(m[1]), reason: m[2] }));
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, skipped };
  }

  it.each(Object.keys(EXPECTED))('%s: the same prompts and skipped lines as the API', (name) => {
    const api = parsePromptFile(fixture(name), readFileSync(fixture(name)));
    const r = explainFile(name);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as ExplainResult[]).map((x) => x.text)).toEqual(api.prompts.map((p) => p.text));
    expect(r.skipped).toEqual(api.skipped);
  });

  it.each(Object.keys(REFUSED))('refuses %s with the API\'s message', (name) => {
    const err = errorOf(() => parsePromptFile(fixture(name), readFileSync(fixture(name))));
    const r = explainFile(name);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${err.message}`);
    expect(r.stdout).toBe('');
  });
});

// A prompt file or dataset the user names can be anything: each is opened as a regular file only (the same
// reader as bundle files), so a FIFO, a device or a sparse huge file is refused at once, never read or waited on.
describe('hostile prompt files and datasets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'seer-hostile-input-'));
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const canMakeFifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--version']).status === 0;
  const cases: [string, (target: string) => Promise<void> | void, RegExp, string | false][] = [
    ['a FIFO', (t) => void spawnSync('mkfifo', [t]), /FIFO/, !canMakeFifo && 'mkfifo is not available'],
    ['a link to /dev/zero', (t) => fs.symlink('/dev/zero', t), /character device/, process.platform === 'win32' && 'no /dev/zero'],
    ['a folder', (t) => fs.mkdir(t), /folder/, false],
    ['a sparse 100 GB file', async (t) => { await fs.writeFile(t, ''); await fs.truncate(t, 100 * 2 ** 30); }, /100\.0 GB/, false],
  ];
  for (const [what, make, message, skip] of cases) {
    it.skipIf(skip)(`refuses ${what} as a prompt file and as a dataset, at once`, async () => {
      const target = path.join(dir, `${what.replace(/\W+/g, '-')}.csv`);
      await make(target);
      const started = Date.now();
      const prompt = await readPromptFile(target).then(() => undefined, (e: unknown) => e);
      expect(prompt).toBeInstanceOf(SeerError);
      expect((prompt as SeerError).message).toMatch(message);
      const { datasetColumns } = await import('../../engine/src/api');
      const dataset = await datasetColumns(target).then(() => undefined, (e: unknown) => e);
      expect(dataset).toBeInstanceOf(SeerError);
      // A sparse file is a regular file: as a dataset it is streamed, and its zero bytes are not text.
      expect((dataset as SeerError).message).toMatch(what.startsWith('a sparse') ? /binary|NUL|not text|UTF/i : message);
      expect(Date.now() - started).toBeLessThan(5000);
    });
  }
});
