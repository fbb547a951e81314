// EvaluateReport with the fields that common/protocol.ts marks optional (added after its first version)
// filled in: evaluate() always produces this, and the renderers accept older reports through completeReport().
import type { EvaluateReport } from '../../../common/protocol';

type AddedFields = 'label' | 'prototypeSource' | 'pooling' | 'split' | 'seed' | 'support' | 'examplesPerSecond' | 'tokensPerSecond' | 'warnings';
export type FullEvaluateReport = EvaluateReport & Required<Pick<EvaluateReport, AddedFields>>;

export function completeReport(r: EvaluateReport): FullEvaluateReport {
  return {
    ...r,
    label: r.label ?? r.bundle.name,
    prototypeSource: r.prototypeSource ?? (r.bank ? 'bank' : 'split'),
    pooling: r.pooling ?? 'last',
    split: r.split ?? NaN,
    seed: r.seed ?? NaN,
    support: r.support ?? r.confusionBest.map((row) => row.reduce((a, b) => a + b, 0)),
    examplesPerSecond: r.examplesPerSecond ?? NaN,
    tokensPerSecond: r.tokensPerSecond ?? NaN,
    warnings: r.warnings ?? [],
  };
}
