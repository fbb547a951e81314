// `seer represent "TEXT" | - | --file F`: the model's hidden representation of a prompt at every layer, for a
// user's own analysis. Layer 0 is the embedding output and layer i the residual stream after block i, before the
// final norm (trainer/seer_trainer/model.py). The prompt template is applied as explain applies it. A file's
// results are written a chunk of prompts at a time, so memory does not grow with the number of prompts.
import type { Pooling } from '../../../common/protocol';
import { chunkRows } from '../calibration/representer';
import { Engine, type RepresentOptions, type TokenizedRepresentation } from '../engine';
import { norm } from '../vectors';
import { write } from './explainCommand';
import { readCliPrompts } from './input';
import { type Command, ENGINE_USAGE, PROMPT_OPTIONS, engineConfigFromArgs, parseCommandArgs, promptReadingFromArgs } from './shared';

const USAGE = `seer represent "TEXT" [options]    the prompt's representation at every layer
seer represent - [options]           read one prompt from stdin
seer represent --file F [options]    a file of prompts (the rules of seer explain --file), one result each
  --json                JSON: {"ids", "position", "truncated", "layers": [layer 0..L][hidden]}, one compact
                        object per line; with --file each also has its "line", written as each is ready
  --jsonl               the same as --json
  --pooling P           last | request-end | mean: the last token (default: the bundle's representation),
                        the end-of-request token after the prompt, or the mean of tokens
  --max-tokens N        keep at most N prompt tokens (default and cap: the model context)
  --truncate left|right which end of a too-long prompt is dropped (default right)
${ENGINE_USAGE}`;

export const representCommand: Command = {
  name: 'represent',
  summary: 'print a prompt\'s hidden representation at every layer (JSON for your own analysis)',
  usage: USAGE,
  run: (argv) => represent(parseCommandArgs(argv, PROMPT_OPTIONS, USAGE)),
};

type Args = ReturnType<typeof parseCommandArgs<typeof PROMPT_OPTIONS>>;

async function represent({ values, positionals }: Args): Promise<number> {
  const { pooling, maxTokens, truncation } = promptReadingFromArgs(values, USAGE);
  const json = values.json || values.jsonl;
  const { prompts } = await readCliPrompts(positionals, values.file, USAGE);
  const engine = await Engine.load(engineConfigFromArgs(values, USAGE));
  try {
    const { numLayers, hiddenSize } = engine.bundle.manifest.architecture;
    const options: RepresentOptions = { pooling: pooling ?? engine.bundle.manifest.representation, maxTokens, truncation };
    // Few enough prompts per call that one chunk's representations stay small, whatever the model's size.
    const chunk = chunkRows(4 * (numLayers + 1) * hiddenSize);
    for (let start = 0; start < prompts.length; start += chunk) {
      const part = prompts.slice(start, start + chunk);
      const reps = await engine.represent(part.map((p) => p.text), options);
      for (const [i, rep] of reps.entries()) {
        const { line } = part[i];
        if (rep.truncated) process.stderr.write(`warning: ${line === undefined ? 'the prompt' : `the prompt of line ${line}`} was truncated to ${rep.tokenCount} tokens\n`);
        await write(json ? `${JSON.stringify(toJson(rep, line))}\n` : summary(rep, options.pooling, line));
      }
    }
    return 0;
  } finally {
    await engine.dispose();
  }
}

function toJson(rep: TokenizedRepresentation, line: number | undefined) {
  return {
    ...(line === undefined ? {} : { line }),
    ids: rep.ids,
    position: rep.position,
    truncated: rep.truncated,
    layers: rep.layers.map((layer) => Array.from(layer)),
  };
}

/** The human summary: token count, read-out position and each layer's norm (the vectors need --json). */
function summary(rep: TokenizedRepresentation, pooling: Pooling, line: number | undefined): string {
  // The engine says where it read (engine/src/representation.ts); mean pooling averages every token the model read.
  const { position } = rep;
  const where = position === null ? `mean of all ${rep.tokenCount} tokens` : `position ${position} (${pooling === 'request-end' ? 'the end-of-request token' : 'the last token'})`;
  const norms = rep.layers.map((l) => norm(l).toFixed(3));
  if (line !== undefined) return `line ${line}: ${rep.ids.length} tokens, ${where}, norm by layer 0..${norms.length - 1}: ${norms.join(' ')}\n`;
  return [
    `${rep.ids.length} tokens (prompt template applied), read at ${where}`,
    'layer  norm',
    ...norms.map((n, l) => `${String(l).padStart(5)}  ${n}`),
    `(${rep.layers.length} layers × ${rep.layers[0].length} floats: --json prints them)`,
    '',
  ].join('\n');
}

