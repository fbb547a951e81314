// The panel's Generate and Stop (issue 13 items 3-4): continues the prompt of the result the panel shows
// through the engine's seer/generate, relaying each token to the panel as it comes. With steering, a plain and
// a steered run (same seed) go side by side; Stop cancels both, and the engine answers with the tokens so far.
// Each generation, a stopped one included, is recorded in the session (historyFeature.ts), and a History entry
// of a generation reopens here: its prompt's explanation, then its runs in the Generate card.
import { randomInt, randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { EngineRequests } from '../../common/engineProtocol';
import type { GenerateParams, Generation, GenerationRun, GenerationStep, GenerationStepParams, PanelGenerateRequest } from '../../common/protocol';
import type { EngineClient } from './engineClient';
import { toEngineError } from './engineClient';
import { guarded, type ShowError } from './errorReport';
import type { HistoryFeature } from './historyFeature';
import { stoppedGeneration } from './historyStore';
import { SeerPanel } from './panel';
import type { PanelFeature } from './panelFeature';

/** Per token on top of the request timeout: a generation is many forward passes, each re-running the prefix. */
const TIMEOUT_PER_TOKEN_MS = 1000;

export function registerGenerate(deps: {
  engine: EngineClient;
  panel: PanelFeature;
  history: HistoryFeature;
  /** Explains a prompt into the panel (explainFeature.ts): a reopened generation whose explanation is no longer cached. */
  explainText: (text: string) => Promise<unknown>;
  generationListeners: Map<string, (p: GenerationStepParams) => void>;
  requestTimeoutMs: number;
  log: vscode.LogOutputChannel;
  showError: ShowError;
}): vscode.Disposable {
  const { engine, panel, history, generationListeners, requestTimeoutMs, log } = deps;
  let current: vscode.CancellationTokenSource | undefined;
  let next = 0;

  async function generate(text: string, request: PanelGenerateRequest): Promise<void> {
    current?.cancel();
    const source = new vscode.CancellationTokenSource();
    current = source;
    const createdAt = new Date().toISOString();
    // The explanation being continued: its bank is the one traced and steered (the concepts the card offers).
    const shown = SeerPanel.instance?.shownResult;
    const seed = randomInt(2 ** 31);
    const runs: Array<GenerateParams['steer']> = request.steer ? [undefined, [request.steer]] : [undefined];
    const streamed: GenerationStep[][] = runs.map(() => []);
    const timeoutMs = requestTimeoutMs + request.maxNewTokens * TIMEOUT_PER_TOKEN_MS;
    const record = (generations: Generation[]) => {
      if (!shown) return;
      history.recordGeneration({
        id: randomUUID(), createdAt, prompt: text, bundle: shown.bundle, bank: shown.bank,
        options: { maxNewTokens: request.maxNewTokens, temperature: request.temperature, seed, steer: request.steer ? [request.steer] : [] },
        generations,
      }, shown);
    };
    try {
      const generations = await Promise.all(runs.map(async (steer, i) => {
        const run = i as GenerationRun;
        const progressToken = `generate-${++next}`;
        // SeerPanel.instance: a panel closed meanwhile is not reopened by the tokens still coming.
        generationListeners.set(progressToken, (p) => {
          streamed[run][p.index] = p.step;
          SeerPanel.instance?.showGeneration({ type: 'generationStep', id: request.id, run, index: p.index, step: p.step });
        });
        try {
          const params: GenerateParams = {
            text, maxNewTokens: request.maxNewTokens, temperature: request.temperature, seed, progressToken,
            ...(shown && { bank: shown.bank }), ...(steer && { steer }),
          };
          const generation = await engine.request(EngineRequests.generate, params, source.token, timeoutMs);
          SeerPanel.instance?.showGeneration({ type: 'generationEnd', id: request.id, run, generation });
          return generation;
        } finally {
          generationListeners.delete(progressToken);
        }
      }));
      record(generations);
    } catch (e) {
      source.cancel(); // the other run too: the card shows one error, not half a comparison
      const err = toEngineError(e);
      if (!err.quiet) log.warn(`generate failed: ${err.message}`);
      // Stopped before the engine answered (it answers with the tokens so far, but not always in time): what streamed is kept.
      if (err.quiet && shown) record(streamed.map((steps) => stoppedGeneration(steps.filter(Boolean), shown.concepts)));
      SeerPanel.instance?.showGeneration({ type: 'generationError', id: request.id, message: err.quiet ? 'Stopped.' : `${err.message}${err.fix ? ` ${err.fix}` : ''}` });
    } finally {
      if (current === source) current = undefined;
      source.dispose();
    }
  }

  /** A History entry of a generation: its prompt's explanation (cached, or explained again), then its runs. */
  async function openGeneration(id: string): Promise<void> {
    const recorded = await history.generation(id);
    if (!recorded) {
      void vscode.window.showWarningMessage('SEER: this generation is no longer in the session.');
      return;
    }
    if (recorded.result) panel.show().showResult(recorded.result);
    else await deps.explainText(recorded.prompt); // the Generate card sits under an explanation's headline
    // Posted after the result, so the card (reset by the result) shows the runs.
    SeerPanel.instance?.showGeneration({ type: 'generationRecorded', generations: recorded.generations, steer: recorded.steer });
  }

  panel.setGenerationHandler({
    generate: (text, request) => void generate(text, request),
    stop: () => current?.cancel(),
  });
  const command = vscode.commands.registerCommand('seer.openGeneration', guarded(deps.showError, openGeneration));
  return {
    dispose: () => {
      current?.cancel();
      command.dispose();
    },
  };
}
