// One prompt's explanation from its row of a forward pass: the result (explain.ts) with the prompt placed on the
// bank's concept map (by its cosines with the map's examples, reduced in the forward pass). The engine's thread and
// the host worker threads (hostWork/) both build results with this.
import type { ConceptMapAbsent, ExplainResult } from '../../common/protocol';
import type { LoadedBundle } from './bundle/index';
import { type ConceptMap, conceptMapView } from './calibration/conceptMap';
import { buildExplainResult, type ResolvedOptions, type RowContext } from './explain';
import type { ForwardOutput } from './runtime/modelSession';

export function explainRow(bundle: LoadedBundle, opts: ResolvedOptions, map: ConceptMap | ConceptMapAbsent, ctx: RowContext): ExplainResult {
  const conceptMap = 'vectors' in map ? conceptMapView(map, mapCosines(ctx.out, map.vectors.length, ctx.row), opts.pooling) : map;
  return { ...buildExplainResult(bundle, opts, ctx), conceptMap };
}

/** Row `row`'s cosines with the map's examples, when the forward pass reduced them (ForwardRequest.readOut.map: same pooling). */
function mapCosines(out: ForwardOutput, examples: number, row: number): ArrayLike<number> | undefined {
  return out.mapCosines?.subarray(row * examples, (row + 1) * examples);
}
