// The panel's Generate and Stop (issue 13 items 3-4): continues the prompt of the result the panel shows
// through the engine's seer/generate, relaying each token to the panel as it comes. With steering, a plain and
// a steered run (same seed) go side by side; Stop cancels both, and the engine answers with the tokens so far.
import { randomInt } from 'node:crypto';
import * as vscode from 'vscode';
import { EngineRequests } from '../../common/engineProtocol';
import type { GenerateParams, GenerationRun, GenerationStepParams, PanelGenerateRequest } from '../../common/protocol';
import type { EngineClient } from './engineClient';
import { toEngineError } from './engineClient';
import { SeerPanel } from './panel';
import type { PanelFeature } from './panelFeature';

/** Per token on top of the request timeout: a generation is many forward passes, each re-running the prefix. */
const TIMEOUT_PER_TOKEN_MS = 1000;

export function registerGenerate(deps: {
  engine: EngineClient;
  panel: PanelFeature;
  generationListeners: Map<string, (p: GenerationStepParams) => void>;
  requestTimeoutMs: number;
  log: vscode.LogOutputChannel;
}): vscode.Disposable {
  const { engine, panel, generationListeners, requestTimeoutMs, log } = deps;
  let current: vscode.CancellationTokenSource | undefined;
  let next = 0;

  async function generate(text: string, request: PanelGenerateRequest): Promise<void> {
    current?.cancel();
    const source = new vscode.CancellationTokenSource();
    current = source;
    const seed = randomInt(2 ** 31);
    const runs: Array<GenerateParams['steer']> = request.steer ? [undefined, [request.steer]] : [undefined];
    const timeoutMs = requestTimeoutMs + request.maxNewTokens * TIMEOUT_PER_TOKEN_MS;
    try {
      await Promise.all(runs.map(async (steer, i) => {
        const run = i as GenerationRun;
        const progressToken = `generate-${++next}`;
        // SeerPanel.instance: a panel closed meanwhile is not reopened by the tokens still coming.
        generationListeners.set(progressToken, (p) => SeerPanel.instance?.showGeneration({ type: 'generationStep', id: request.id, run, index: p.index, step: p.step }));
        try {
          const params: GenerateParams = { text, maxNewTokens: request.maxNewTokens, temperature: request.temperature, seed, progressToken, ...(steer && { steer }) };
          const generation = await engine.request(EngineRequests.generate, params, source.token, timeoutMs);
          SeerPanel.instance?.showGeneration({ type: 'generationEnd', id: request.id, run, generation });
        } finally {
          generationListeners.delete(progressToken);
        }
      }));
    } catch (e) {
      source.cancel(); // the other run too: the card shows one error, not half a comparison
      const err = toEngineError(e);
      if (!err.quiet) log.warn(`generate failed: ${err.message}`);
      SeerPanel.instance?.showGeneration({ type: 'generationError', id: request.id, message: err.quiet ? 'Stopped.' : `${err.message}${err.fix ? ` ${err.fix}` : ''}` });
    } finally {
      if (current === source) current = undefined;
      source.dispose();
    }
  }

  panel.setGenerationHandler({
    generate: (text, request) => void generate(text, request),
    stop: () => current?.cancel(),
  });
  return { dispose: () => current?.cancel() };
}
