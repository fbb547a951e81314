// The seer/calibrate and seer/evaluate JSON-RPC requests (engine/src/server.ts routes them here):
// the same pipeline as the CLI, with the host's cancellation and progress.
import type { CalibrateParams, CalibrateResult, DatasetSpec, EvaluateParams, EvaluateReport } from '../../../common/protocol';
import { bankInfo } from '../bundle';
import type { Engine } from '../engine';
import { SeerError } from '../errors';
import { checkSaveTarget, saveBank } from './bankFile';
import { resolveBank } from './bankSource';
import { calibrate } from './calibrate';
import { evaluate } from './evaluate';
import type { ProgressListener } from './progress';
import { modelFacts } from './representer';

export async function calibrateRequest(engine: Engine, params: CalibrateParams, signal: AbortSignal, onProgress: ProgressListener): Promise<CalibrateResult> {
  checkDatasetParams(params);
  const model = modelFacts(engine.bundle);
  checkSaveTarget(params.bankName ?? 'custom', model, { out: params.out });
  const outcome = await calibrate(engine, model, params, { signal, onProgress });
  const bankPath = await saveBank(outcome.bank, model, { out: params.out });
  if (!params.out) {
    // The new bank is usable by explain right away, without reloading the bundle.
    engine.bundle.banks.set(outcome.bank.name, outcome.bank);
    engine.info.banks = [...engine.info.banks.filter((b) => b.name !== outcome.bank.name), bankInfo(outcome.bank)];
    engine.info.bundle.banks = [...engine.bundle.banks.keys()];
  }
  return { bankPath, ...outcome.result };
}

export async function evaluateRequest(engine: Engine, params: EvaluateParams, signal: AbortSignal, onProgress: ProgressListener): Promise<EvaluateReport> {
  checkDatasetParams(params);
  const source = params.bank ? await resolveBank(engine.bundle, params.bank) : ({ kind: 'split' } as const);
  return evaluate(engine, modelFacts(engine.bundle), params, source, { signal, onProgress });
}

function checkDatasetParams(p: Partial<DatasetSpec> | undefined): asserts p is DatasetSpec {
  const ok =
    typeof p?.path === 'string' &&
    p.path !== '' &&
    typeof p.labelColumn === 'string' &&
    p.labelColumn !== '' &&
    Array.isArray(p.textColumns) &&
    p.textColumns.length > 0 &&
    p.textColumns.every((c) => typeof c === 'string' && c !== '');
  if (!ok) {
    throw new SeerError('BAD_PARAMS', 'A dataset request needs path, labelColumn and a non-empty textColumns list.', {
      fix: 'Send e.g. { "path": "data.csv", "textColumns": ["prompt"], "labelColumn": "value" }.',
    });
  }
}
