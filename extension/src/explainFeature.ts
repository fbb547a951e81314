// Explaining prompts as a feature: "Explain with SEER" (selection, paragraph or line), "Explain File as
// Prompts" (pick one prompt of a file), and reopening a history entry in the panel. Each explain runs
// with a cancellable progress notification, is shown in the panel, recorded in the history and timed.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken } from 'vscode-jsonrpc/node';
import type { ExplainResult } from '../../common/protocol';
import { parsePromptFile, type PromptFile } from '../../engine/src/api';
import { readSettings } from './config';
import type { EngineClient } from './engineClient';
import { guarded, type ShowError } from './errorReport';
import type { HistoryFeature } from './historyFeature';
import { recordMetric } from './metrics';
import type { PanelFeature } from './panelFeature';
import { MAX_PROMPT_CHARS, pickPrompt } from './promptText';
import { explainOptions } from './settings';

export interface Explained {
  result: ExplainResult;
  renderMs: number;
}

export interface ExplainFeature extends vscode.Disposable {
  /** Explains `text` and resolves once the panel has rendered it (the extension's API, for integration tests). */
  explainText(text: string): Promise<Explained>;
}

export function registerExplain(deps: {
  engine: EngineClient;
  panel: PanelFeature;
  history: HistoryFeature;
  log: vscode.LogOutputChannel;
  showError: ShowError;
}): ExplainFeature {
  const { engine, panel, history, log, showError } = deps;

  const explain = async (text: string, label: string): Promise<Explained> => {
    const started = performance.now();
    const cold = !engine.loaded || !engine.running;
    const view = panel.show();
    let webviewReadyMs = 0;
    void view.whenReady.then(() => (webviewReadyMs = performance.now() - started));
    view.showBusy(`Explaining the ${label}…`);
    const options = explainOptions(readSettings());
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SEER: explaining the ${label}`, cancellable: true },
      (_progress, token) => engine.explain(text, options, token as unknown as RpcToken),
    );
    const engineMs = performance.now() - started;
    const rendered = panel.showResult(result);
    history.record(result, options);
    const renderMs = await rendered;
    const totalMs = performance.now() - started;
    log.info(`explained ${result.tokens.length} tokens: ${result.headline.concept} ${(result.headline.confidence * 100).toFixed(1)}% ` +
      `(engine ${engineMs.toFixed(0)} ms${cold ? ', incl. start' : ''}, render ${renderMs.toFixed(0)} ms, total ${totalMs.toFixed(0)} ms)`);
    recordMetric('explain', { cold, engineMs, webviewReadyMs, renderMs, totalMs, tokens: result.tokens.length, engineTotalMs: result.timingsMs.total });
    return { result, renderMs };
  };

  const explainSelection = async (): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('SEER: open a text editor and select a prompt first.');
      return;
    }
    const doc = editor.document;
    const sel = editor.selection;
    const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
    const pick = pickPrompt(doc.getText(sel), lines, sel.active.line);
    if (pick.truncatedFrom) {
      void vscode.window.showInformationMessage(
        `SEER: the ${pick.source} has ${pick.truncatedFrom.toLocaleString()} characters; only the first ${MAX_PROMPT_CHARS.toLocaleString()} are explained.`);
    }
    await explain(pick.text, pick.source);
  };

  const explainFile = async (uri?: vscode.Uri): Promise<void> => {
    const target = uri ?? vscode.window.activeTextEditor?.document.uri;
    if (!target) {
      void vscode.window.showWarningMessage('SEER: open or right-click a .txt, .md, .jsonl or .csv prompt file.');
      return;
    }
    const name = path.basename(target.path);
    const bytes = await vscode.workspace.fs.readFile(target);
    const { prompts, skipped } = parsePromptFile(name, bytes);
    if (skipped.length) void vscode.window.showWarningMessage(`SEER: ${skippedSummary(skipped)} in ${name}.`);
    const picked = prompts.length === 1 ? { prompt: prompts[0].text } : await vscode.window.showQuickPick(
      prompts.map((p, i) => ({ label: p.text.replace(/\s+/g, ' ').slice(0, 120), description: `#${i + 1} · line ${p.line}`, prompt: p.text })),
      { title: `SEER: ${prompts.length} prompts in ${name}`, placeHolder: 'Pick the prompt to explain', matchOnDescription: true },
    );
    if (picked) await explain(picked.prompt, 'prompt');
  };

  const openHistoryEntry = async (id: string): Promise<void> => {
    const result = await history.get(id);
    if (result) {
      panel.show().showResult(result);
      return;
    }
    // Only the session entry is left (its result was cached in another window, or long ago): explain its prompt again.
    const prompt = await history.prompt(id);
    if (prompt === undefined) {
      void vscode.window.showWarningMessage('SEER: this history entry is no longer in the session.');
      return;
    }
    await explain(prompt, 'recorded prompt');
  };

  const disposables = [
    vscode.commands.registerCommand('seer.explainSelection', guarded(showError, explainSelection)),
    vscode.commands.registerCommand('seer.explainFile', guarded(showError, explainFile)),
    vscode.commands.registerCommand('seer.openHistoryEntry', guarded(showError, openHistoryEntry)),
  ];
  return {
    explainText: (text) => explain(text, 'text'),
    dispose: () => disposables.forEach((d) => d.dispose()),
  };
}

/** "3 lines skipped: line 4: not valid JSON; line 9: …; …" — the first few reasons, so the message stays short. */
function skippedSummary(skipped: PromptFile['skipped'], shown = 3): string {
  const head = skipped.slice(0, shown).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
  return `${skipped.length} ${skipped.length === 1 ? 'line' : 'lines'} skipped: ${head}${skipped.length > shown ? '; …' : ''}`;
}
