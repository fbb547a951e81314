// One prompt's explanation from its row of a forward pass: the result (explain.ts) with the prompt placed on the
// bank's concept map. The engine's thread and the host worker threads (hostWork/) both build results with this.
import type { ConceptMapAbsent, ExplainResult } from '../../common/protocol';
import type { LoadedBundle } from './bundle/index';
import { type ConceptMap, conceptMapView } from './calibration/conceptMap';
import { buildExplainResult, type ResolvedOptions, type RowContext } from './explain';
import { pooled } from './representation';

export function explainRow(bundle: LoadedBundle, opts: ResolvedOptions, map: ConceptMap | ConceptMapAbsent, ctx: RowContext): ExplainResult {
  const hidden = bundle.manifest.architecture.hiddenSize;
  const conceptMap = 'vectors' in map ? conceptMapView(map, pooled(ctx.out, hidden, map.layer, ctx.row), opts.pooling) : map;
  return { ...buildExplainResult(bundle, opts, ctx), conceptMap };
}
