// `seer explain "TEXT" | - | --file F`: explains prompts with the bundle's model; a readable report, --json or
// --jsonl. A file's results are written as they are ready, a chunk of prompts at a time, so memory does not
// grow with the number of prompts.
import type { ExplainOptions } from '../../../common/protocol';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { renderBatchLine, renderReport } from '../report/explanationReport';
import { styleFor } from '../report/terminalStyle';
import { readCliPrompts } from './input';
import { type Command, ENGINE_USAGE, PROMPT_OPTIONS, engineConfigFromArgs, parseCommandArgs, promptReadingFromArgs } from './shared';

const USAGE = `seer explain "TEXT" [options]      explain one prompt
seer explain - [options]             read one prompt from stdin
seer explain --file F [options]      a file of prompts: one per paragraph (.txt, .md), per line (.jsonl:
                                     a string or {"prompt"|"text"|"input": …}) or per row (.csv, .tsv)
  --json                full results as JSON: one object; for --file an array, written one result per line
                        as each is ready
  --jsonl               full results as JSON Lines: one compact object per line, written as each is ready
  --pooling P           last | request-end | mean: the last token (the paper; default: the bank's), the
                        end-of-request token after the prompt, or the mean of tokens
  --bank NAME           concept bank inside the bundle (default: the bundle's default bank)
  --max-tokens N        keep at most N prompt tokens (default and cap: the model context)
  --truncate left|right which end of a too-long prompt is dropped (default right)
  --token-layers all|target|L,L,...   layers of the token × concept matrix in --json (default target)
${ENGINE_USAGE}`;

const OPTIONS = {
  ...PROMPT_OPTIONS,
  bank: { type: 'string' },
  'token-layers': { type: 'string' },
} as const;

export const explainCommand: Command = {
  name: 'explain',
  summary: 'explain a prompt (or a file of prompts) with the model\'s own representations',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, USAGE);
    const options: ExplainOptions = { ...promptReadingFromArgs(values, USAGE), bank: values.bank, tokenLayers: tokenLayers(values['token-layers']) };
    if (values.json && values.jsonl) throw new SeerError('INVALID_ARGUMENT', 'Give either --json or --jsonl, not both.', { fix: `Usage:\n${USAGE}` });
    const { prompts: read, fromFile } = await readCliPrompts(positionals, values.file, USAGE);
    const prompts = read.map((p) => p.text);
    const engine = await Engine.load(engineConfigFromArgs(values, USAGE));
    try {
      const style = styleFor(process.stdout);
      if (!fromFile) {
        const [result] = await engine.explainBatch(prompts, options);
        if (values.jsonl) await write(`${JSON.stringify(result)}\n`);
        else await write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${renderReport(result, style)}\n`);
        warn(result.provider.fellBackToCpu ? [result.provider.fellBackToCpu, ...(result.warnings ?? [])] : result.warnings ?? []);
        return 0;
      }
      const warnings = new Set<string>();
      const progress = progressPrinter(prompts.length);
      if (values.json) await write('[\n');
      // A chunk per explainBatch call: enough prompts to batch those of similar length, few enough to hold.
      for (let start = 0; start < prompts.length; start += FILE_CHUNK) {
        const results = await engine.explainBatch(prompts.slice(start, start + FILE_CHUNK), options, undefined, (done) => progress(start + done));
        for (const [i, r] of results.entries()) {
          const first = start + i === 0;
          if (values.json) await write(`${first ? '' : ',\n'}${JSON.stringify(r)}`);
          else await write(`${values.jsonl ? JSON.stringify(r) : renderBatchLine(r, style)}\n`);
          for (const w of [r.provider.fellBackToCpu ?? [], r.warnings ?? []].flat()) warnings.add(w);
        }
      }
      if (values.json) await write(prompts.length ? '\n]\n' : ']\n');
      warn([...warnings]);
      return 0;
    } finally {
      await engine.dispose();
    }
  },
};

/** Prompts per explainBatch call for --file (results are written before the next chunk starts). */
export const FILE_CHUNK = 64;

/** Writes to stdout, waiting when it is full (a slow reader must not make us buffer every result). */
export function write(text: string): Promise<void> {
  if (process.stdout.write(text)) return Promise.resolve();
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

function warn(warnings: string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

function tokenLayers(value: string | undefined): ExplainOptions['tokenLayers'] {
  if (value === undefined || value === 'all' || value === 'target') return value;
  const layers = value.split(',').map((v) => Number(v.trim()));
  if (layers.some((l) => !Number.isInteger(l) || l < 0)) {
    throw new SeerError('INVALID_ARGUMENT', `--token-layers must be all, target or comma-separated layer numbers, got "${value}".`, { fix: `Usage:\n${USAGE}` });
  }
  return layers;
}

function progressPrinter(total: number): (done: number) => void {
  const tty = process.stderr.isTTY;
  return (done) => {
    if (tty) process.stderr.write(`\rexplained ${done}/${total}${done === total ? '\n' : ''}`);
    else process.stderr.write(`explained ${done}/${total}\n`);
  };
}
