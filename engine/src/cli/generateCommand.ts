// `seer generate TEXT`: the model continues the prompt token by token, each token printed as it comes with the
// model's concept at the target layer (engine/src/generate.ts); with --steer, the plain and the steered
// continuation are generated together and printed side by side. --json: {"text", "concepts", "steps"} (and
// "steered", the same shape). Ctrl-C stops the generation and keeps (prints) the tokens so far. --session FILE
// also records it (a stopped one too) in a session file, as the extension's History does.
import { randomUUID } from 'node:crypto';
import { Engine } from '../engine';
import { SeerError } from '../errors';
import { checkGenerateOptions, type Generation, type GenerationStep, type GenerateOptions, meanProbability, type SteeringTerm } from '../generate';
import { LIMITS } from '../limits';
import { percent, type Style, styleFor } from '../report/terminalStyle';
import { addEntries, sessionEntryFromGeneration } from '../sessions/sessionFile';
import { write } from './explainCommand';
import { readCliPrompts } from './input';
import { type Command, ENGINE_OPTIONS, ENGINE_USAGE, engineConfigFromArgs, parseCommandArgs, positiveInt } from './shared';

const DEFAULT_MAX_NEW_TOKENS = 32;

const USAGE = `seer generate "TEXT" [options]      continue TEXT (the prompt template applied), explaining each token
seer generate - [options]             read the prompt from stdin
  --max-new-tokens N    new tokens at most (default ${DEFAULT_MAX_NEW_TOKENS}; fewer at the model's eos or the end of its context)
  --temperature T       0 (default): greedy; above 0: sample from softmax(logits / T)
  --top-p P             sample only from the most probable tokens whose probabilities add up to P (default 1)
  --seed S              the sampler's seed (0 to ${LIMITS.seed}): the same seed gives the same tokens
  --steer C:S           add S × concept C's unit prototype to the residual stream at the target layer
                        (negative S: away from C); repeatable; prints the plain and steered runs side by side
  --bank NAME           concept bank traced and steered (default: the bundle's default bank)
  --json                {"text", "concepts", "steps": [{"token", "id", "concept", "probs"}]} (+ "steered")
  --session FILE        also record the generation in this session file (e.g. .seer-session.json: the History)
${ENGINE_USAGE}`;

const OPTIONS = {
  ...ENGINE_OPTIONS,
  json: { type: 'boolean', default: false },
  bank: { type: 'string' },
  'max-new-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  seed: { type: 'string' },
  steer: { type: 'string', multiple: true },
  session: { type: 'string' },
} as const;


export const generateCommand: Command = {
  name: 'generate',
  summary: 'continue a prompt, explaining each new token (and steer it away from or toward a concept)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, OPTIONS, USAGE);
    const steer = (values.steer ?? []).map(parseSteer);
    const options: GenerateOptions = {
      maxNewTokens: values['max-new-tokens'] === undefined ? DEFAULT_MAX_NEW_TOKENS : positiveInt('--max-new-tokens', values['max-new-tokens'], USAGE, LIMITS.maxTokens),
      temperature: numberFlag('--temperature', values.temperature),
      topP: numberFlag('--top-p', values['top-p']),
      // Without --seed, one random seed for both runs: plain and steered then differ only by the steering.
      seed: numberFlag('--seed', values.seed) ?? Math.floor(Math.random() * LIMITS.seed),
      bank: values.bank,
    };
    // Before the model loads: a wrong number costs nothing.
    checkGenerateOptions(options, { maxNewTokens: '--max-new-tokens', temperature: '--temperature', topP: '--top-p', seed: '--seed' });
    const { prompts } = await readCliPrompts(positionals, undefined, USAGE);
    const engine = await Engine.load(engineConfigFromArgs(values, USAGE));
    const createdAt = new Date().toISOString();
    // Ctrl-C stops between two tokens; what was generated is still printed.
    const controller = new AbortController();
    const cancel = () => controller.abort();
    process.once('SIGINT', cancel);
    try {
      const run = { ...options, signal: controller.signal };
      const style = styleFor(process.stdout);
      if (steer.length > 0 && !values.json) {
        // Strengths are in the residual stream's units: its size at the target layer tells what a strength means.
        const layer = engine.bundle.manifest.targetLayers[0];
        const [rep] = await engine.represent([prompts[0].text], { pooling: 'last' });
        process.stdout.write(style.dim(`steering at layer ${layer}, where the prompt's last-token state has norm ${Math.hypot(...rep.layers[layer]).toPrecision(3)}\n`));
      }
      const table = values.json ? undefined : new StreamedTable(style, steer);
      const [plain, steered] = await Promise.all([
        engine.generate(prompts[0].text, run, (s, i) => table?.add(0, s, i)).finally(() => table?.end(0)),
        steer.length > 0 ? engine.generate(prompts[0].text, { ...run, steer }, (s, i) => table?.add(1, s, i)).finally(() => table?.end(1)) : undefined,
      ]);
      if (values.json) await write(`${JSON.stringify(steered ? { ...asJson(plain), steered: asJson(steered) } : asJson(plain), null, 2)}\n`);
      else await write(table!.finish(plain, steered));
      if (values.session) {
        const { name, dir, defaultBank } = engine.info.bundle;
        await addEntries(values.session, [sessionEntryFromGeneration({
          id: randomUUID(), createdAt, prompt: prompts[0].text, bundle: { name, dir }, bank: options.bank ?? defaultBank,
          options: { ...options, seed: options.seed!, steer }, generations: steered ? [plain, steered] : [plain],
        })]);
      }
      if (controller.signal.aborted) {
        process.stderr.write(`cancelled: ${plain.steps.length} token(s) generated${steered ? ` (${steered.steps.length} steered)` : ''} are kept above.\n`);
        return 130;
      }
      return 0;
    } finally {
      process.removeListener('SIGINT', cancel);
      await engine.dispose();
    }
  },
};

/** The documented JSON shape (docs/cli.md#generate): the stop reason is only printed. */
function asJson(g: Generation) {
  return { text: g.text, concepts: g.concepts, steps: g.steps };
}

/** CONCEPT:STRENGTH (split at the last colon); the concept is checked against the bank by the engine. */
function parseSteer(spec: string): SteeringTerm {
  const at = spec.lastIndexOf(':');
  const fix = 'Write --steer CONCEPT:STRENGTH, e.g. --steer violence:-4 (away from violence) or --steer cooking:4 (toward cooking).';
  if (at <= 0) throw new SeerError('INVALID_ARGUMENT', `--steer ${JSON.stringify(spec)} is not CONCEPT:STRENGTH.`, { fix });
  const strength = spec.slice(at + 1).trim();
  const value = Number(strength);
  if (strength === '' || !Number.isFinite(value)) {
    throw new SeerError('INVALID_ARGUMENT', `--steer ${JSON.stringify(spec)}: the strength ${JSON.stringify(strength)} is not a finite number.`, { fix });
  }
  return { concept: spec.slice(0, at), strength: value };
}

/** A number-valued flag (its range is checked by the engine), or undefined when absent. */
function numberFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new SeerError('INVALID_ARGUMENT', `${flag} must be a number, got ${JSON.stringify(value)}.`, { fix: `Usage:\n${USAGE}` });
  return n;
}

const TOKEN_WIDTH = 16;
const CONCEPT_WIDTH = 18;

/**
 * Prints the steps of one run (or of a plain and a steered run, side by side) as they arrive: row i is printed
 * once every run has its step i or has ended.
 */
class StreamedTable {
  private readonly rows: GenerationStep[][];
  private readonly ended: boolean[];
  private printed = 0;
  private started = false;

  constructor(private readonly style: Style, private readonly steer: SteeringTerm[]) {
    this.rows = steer.length > 0 ? [[], []] : [[]];
    this.ended = this.rows.map(() => false);
  }

  add(run: number, step: GenerationStep, index: number): void {
    this.rows[run][index] = step;
    this.flush();
  }

  /** Run `run` has no more steps: rows no longer wait for it. */
  end(run: number): void {
    this.ended[run] = true;
    this.flush();
  }

  /** The rows not yet printed, then each run's text, why it stopped and (steered) the steered concepts' means. */
  finish(plain: Generation, steered: Generation | undefined): string {
    this.flush();
    const lines = [''];
    const runs: Array<[string, Generation]> = steered ? [['plain', plain], ['steered', steered]] : [['text', plain]];
    for (const [label, g] of runs) {
      lines.push(`${this.style.bold(`${label}:`)} ${JSON.stringify(g.text)}  ${this.style.dim(`(${g.steps.length} tokens, stopped: ${g.stopReason})`)}`);
    }
    if (steered) {
      lines.push(this.style.bold('mean probability over the generated tokens, plain → steered:'));
      for (const { concept, strength } of this.steer) {
        const [before, after] = [meanProbability(plain, concept), meanProbability(steered, concept)];
        const show = (p: number) => (Number.isNaN(p) ? '—' : percent(p));
        lines.push(`  ${concept.padEnd(CONCEPT_WIDTH)} ${show(before)} → ${show(after)}  ${this.style.dim(`(steered ${strength > 0 ? '+' : ''}${strength})`)}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }

  private flush(): void {
    if (!this.started) {
      const titles = this.rows.length === 2 ? ['plain', `steered (${this.steer.map((t) => `${t.concept} ${t.strength > 0 ? '+' : ''}${t.strength}`).join(', ')})`] : ['token'];
      process.stdout.write(`${this.style.dim(`step  ${titles.map((t) => t.padEnd(TOKEN_WIDTH + CONCEPT_WIDTH + 8)).join('│ ')}`.trimEnd())}\n`);
      this.started = true;
    }
    const longest = Math.max(...this.rows.map((r) => r.length));
    // A row waits for every run that has not ended: the two columns stay aligned step by step.
    while (this.printed < longest && this.rows.every((r, run) => this.ended[run] || r[this.printed] !== undefined)) {
      const cells = this.rows.map((r) => this.cell(r[this.printed]));
      process.stdout.write(`${`${String(this.printed + 1).padStart(4)}  ${cells.join('│ ')}`.trimEnd()}\n`);
      this.printed++;
    }
  }

  private cell(step: GenerationStep | undefined): string {
    const width = TOKEN_WIDTH + CONCEPT_WIDTH + 8;
    if (!step) return ''.padEnd(width);
    const token = JSON.stringify(step.token);
    const shown = token.length > TOKEN_WIDTH ? `${token.slice(0, TOKEN_WIDTH - 1)}…` : token;
    const p = Math.max(...step.probs);
    return `${shown.padEnd(TOKEN_WIDTH)} ${this.style.cyan(step.concept.padEnd(CONCEPT_WIDTH))} ${percent(p).padStart(6)} `;
  }
}
