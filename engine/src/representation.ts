// Where a prompt's per-layer representation is read, and reading it out of a forward pass. The graph pools
// (bundle format 2): `states` holds each row's state at its read-out token, `mean_states` the mean over its
// real tokens; the engine only chooses the token. Right padding: row b's real tokens are 0..len-1.
import type { Pooling, TokenInfo } from '../../common/protocol';
import type { ForwardOutput } from './runtime/modelSession';

/**
 * The token a representation is read at: the last one for "last" (the paper) and for "mean" (fed to the graph,
 * unused); for "request-end" the token right after the prompt's last token — the template's end-of-turn token,
 * e.g. Llama 3's <|eot_id|> — or the last token when the template has nothing after the prompt.
 */
export function readOutPosition(tokens: readonly Pick<TokenInfo, 'fromPrompt'>[], pooling: Pooling): number {
  const last = tokens.length - 1;
  if (pooling !== 'request-end') return last;
  let lastPrompt = -1;
  tokens.forEach((t, i) => {
    if (t.fromPrompt) lastPrompt = i;
  });
  return lastPrompt < 0 ? last : Math.min(lastPrompt + 1, last);
}

/**
 * Row `row`'s representation at `layer` (not normalised): at its read-out token, or its mean. A view into
 * `out.states`, not a copy (explain reads hundreds per batch): copy it to keep or change it.
 */
export function pooled(out: ForwardOutput, hiddenSize: number, layer: number, row: number): Float32Array {
  const o = (layer * out.batch + row) * hiddenSize;
  return out.states.subarray(o, o + hiddenSize);
}
