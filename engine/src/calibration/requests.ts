// The seer/calibrate and seer/evaluate JSON-RPC requests (engine/src/server.ts routes them here):
// the same pipeline as the CLI, with the host's cancellation and progress. Params were checked by the server.
import type { CalibrateParams, CalibrateResult, EvaluateParams, EvaluateReport } from '../../../common/protocol';
import { bankInfo } from '../bundle';
import type { Engine } from '../engine';
import { checkSaveTarget, saveBank } from './bankFile';
import { resolveBank } from './bankSource';
import { calibrate } from './calibrate';
import { evaluationConceptMap } from './conceptMap';
import { evaluate } from './evaluate';
import type { ProgressListener } from './progress';
import { modelFacts } from './representer';

export async function calibrateRequest(engine: Engine, params: CalibrateParams, signal: AbortSignal, onProgress: ProgressListener): Promise<CalibrateResult> {
  const model = modelFacts(engine.bundle);
  const save = { out: params.out, intoBundle: params.intoBundle, force: params.force, userBankDir: engine.bundle.userBankDir };
  checkSaveTarget(params.bankName ?? 'custom', model, save);
  const outcome = await calibrate(engine, model, params, { signal, onProgress });
  // A calibrate cancelled at any point before its reply writes nothing: saveBank checks the signal.
  const bankPath = await saveBank(outcome.bank, model, { ...save, signal, conceptMap: outcome.conceptMap });
  if (!params.out) {
    // The new bank is usable by explain right away, without reloading the bundle (its map is beside bankPath).
    engine.bundle.banks.set(outcome.bank.name, { ...outcome.bank, file: bankPath });
    if (!params.intoBundle) engine.bundle.userBanks.add(outcome.bank.name);
    engine.info.banks = [...engine.info.banks.filter((b) => b.name !== outcome.bank.name), bankInfo(outcome.bank)];
    engine.info.bundle.banks = [...engine.bundle.banks.keys()];
  }
  return { bankPath, ...outcome.result };
}

export async function evaluateRequest(engine: Engine, params: EvaluateParams, signal: AbortSignal, onProgress: ProgressListener): Promise<EvaluateReport> {
  const source = params.bank ? await resolveBank(engine.bundle, params.bank) : ({ kind: 'split' } as const);
  const report = await evaluate(engine, modelFacts(engine.bundle), params, source, { signal, onProgress });
  return { ...report, conceptMap: await evaluationConceptMap(engine.bundle, source) };
}
