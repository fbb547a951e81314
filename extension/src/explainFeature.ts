// Explaining prompts as a feature: "Explain with SEER" (selection, paragraph or line), "Explain File as
// Prompts" (every prompt of a file into the panel's table, risky ones flagged in the editor), and reopening
// a history entry in the panel. Each explain runs with a cancellable progress notification, is shown in the
// panel, recorded in the history and timed.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken } from 'vscode-jsonrpc/node';
import { EngineRequests } from '../../common/engineProtocol';
import type { ExplainResult, FileRow } from '../../common/protocol';
import { parsePromptFile, type PromptFile } from '../../engine/src/api';
import { readSettings } from './config';
import type { EngineClient } from './engineClient';
import { guarded, type ShowError } from './errorReport';
import { saveTable } from './exporter';
import { FileDecorations, riskConcepts } from './fileDecorations';
import type { HistoryFeature } from './historyFeature';
import { recordMetric } from './metrics';
import type { PanelFeature } from './panelFeature';
import { MAX_PROMPT_CHARS, pickPrompt } from './promptText';
import { fileTableToCsv } from './resultExport';
import { explainOptions } from './settings';

/** Prompts per seer/explainBatch request: the table grows (and Cancel stops) between requests. */
const FILE_BATCH = 32;
/** Characters of a prompt shown in its table row (the full prompt opens on click). */
const ROW_TEXT_CHARS = 200;
/** How often the editor's risk flags follow the table while a file is explained. */
const DECORATE_EVERY_MS = 500;

/** A prompt's table row from its explanation; `risky`: the concepts flagged in the editor. */
export function fileRow(index: number, at: { line: number; lastLine: number }, r: ExplainResult, risky: ReadonlySet<string>): FileRow {
  const flat = r.text.replace(/\s+/g, ' ').trim();
  return {
    index, line: at.line, lastLine: at.lastLine,
    text: flat.length > ROW_TEXT_CHARS ? `${flat.slice(0, ROW_TEXT_CHARS - 1)}…` : flat,
    concept: r.headline.concept,
    confidence: r.headline.confidence,
    margin: r.headline.margin,
    safe: r.headline.safe,
    lowConfidence: r.headline.lowConfidence !== undefined,
    risk: risky.has(r.headline.concept),
  };
}

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
  extensionUri: vscode.Uri;
}): ExplainFeature {
  const { engine, panel, history, log, showError } = deps;
  const decorations = new FileDecorations(deps.extensionUri);
  /** The file table the panel shows: its file, prompts and rows (for a clicked row and the CSV export). */
  let table: { uri: vscode.Uri; name: string; prompts: PromptFile['prompts']; rows: FileRow[] } | undefined;

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
    if (prompts.length === 0) {
      void vscode.window.showWarningMessage(`SEER: no prompts in ${name}.`);
      return;
    }
    if (prompts.length === 1) {
      await explain(prompts[0].text, 'prompt');
      return;
    }
    await explainAll(target, name, prompts);
  };

  /** Every prompt of the file into the panel's table, batch by batch; Cancel keeps the rows so far. */
  const explainAll = async (uri: vscode.Uri, name: string, prompts: PromptFile['prompts']): Promise<void> => {
    const started = performance.now();
    decorations.clear(uri);
    const rows: FileRow[] = [];
    table = { uri, name, prompts, rows };
    const view = panel.show();
    const options = { ...explainOptions(readSettings()), tokenLayers: [] as number[], topNextTokens: 0 };
    const setting = vscode.workspace.getConfiguration('seer').get<unknown>('riskConcepts');
    const chosen = Array.isArray(setting) ? setting.filter((c): c is string => typeof c === 'string') : [];
    let risky: Set<string> | undefined;
    let cancelled = false;
    let decorated = performance.now();
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SEER: explaining ${prompts.length.toLocaleString()} prompts of ${name}`, cancellable: true },
      async (progress, token) => {
        for (let at = 0; at < prompts.length && !token.isCancellationRequested; at += FILE_BATCH) {
          const batch = prompts.slice(at, at + FILE_BATCH);
          let results: ExplainResult[];
          try {
            results = await engine.request(EngineRequests.explainBatch, { texts: batch.map((p) => p.text), options }, token as unknown as RpcToken);
          } catch (e) {
            if (token.isCancellationRequested) break;
            // The rows so far stay in the table; the error itself is shown by the command's guard.
            if (rows.length) view.showFileRows({ file: `${name} (stopped by an error)`, total: rows.length, rows: [], reset: false, done: true });
            decorations.set(uri, rows);
            throw e;
          }
          risky ??= riskConcepts(chosen, results[0].concepts, results[0].safeConcepts);
          const added = results.map((r, k) => fileRow(at + k, batch[k], r, risky!));
          rows.push(...added);
          const done = rows.length === prompts.length;
          view.showFileRows({ file: name, total: prompts.length, rows: added, reset: at === 0, done });
          // Every flag so far is re-sent to the editor: for a file of 100,000 prompts, a few times a second at most.
          if (done || performance.now() - decorated > DECORATE_EVERY_MS) {
            decorations.set(uri, rows);
            decorated = performance.now();
          }
          progress.report({ increment: (100 * batch.length) / prompts.length, message: `${rows.length.toLocaleString()} of ${prompts.length.toLocaleString()}` });
        }
        cancelled = token.isCancellationRequested;
      },
    );
    decorations.set(uri, rows);
    // Cancelled: the rows so far stay, and the table says it is complete with what it has.
    if (cancelled) view.showFileRows({ file: `${name} (cancelled)`, total: rows.length, rows: [], reset: false, done: true });
    const ms = performance.now() - started;
    log.info(`explained ${rows.length} of ${prompts.length} prompts of ${name} in ${ms.toFixed(0)} ms (${rows.filter((r) => r.risk).length} flagged)`);
    recordMetric('explainFile', { prompts: prompts.length, explained: rows.length, totalMs: ms });
  };

  /** A clicked row: its prompt explained in full in the panel, its line revealed in the editor. */
  const openRow = async (index: number): Promise<void> => {
    const prompt = table?.prompts[index];
    if (!table || !prompt) return;
    const line = prompt.line - 1;
    const doc = await vscode.workspace.openTextDocument(table.uri);
    const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: true });
    editor.selection = new vscode.Selection(line, 0, line, 0);
    editor.revealRange(new vscode.Range(line, 0, line, 0), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    await explain(prompt.text, `prompt on line ${prompt.line}`);
  };

  const exportTable = async (): Promise<void> => {
    if (!table?.rows.length) {
      void vscode.window.showWarningMessage('SEER: nothing to export yet; run Explain File as Prompts first.');
      return;
    }
    await saveTable(`seer-${table.name.replace(/\.[^.]*$/, '')}.csv`, fileTableToCsv(table.rows));
  };
  panel.setFileTableHandler({
    open: (index) => void guarded(showError, openRow)(index),
    exportCsv: () => void guarded(showError, exportTable)(),
  });

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
    dispose: () => {
      disposables.forEach((d) => d.dispose());
      decorations.dispose();
    },
  };
}

/** "3 lines skipped: line 4: not valid JSON; line 9: …; …" — the first few reasons, so the message stays short. */
function skippedSummary(skipped: PromptFile['skipped'], shown = 3): string {
  const head = skipped.slice(0, shown).map((s) => `line ${s.line}: ${s.reason}`).join('; ');
  return `${skipped.length} ${skipped.length === 1 ? 'line' : 'lines'} skipped: ${head}${skipped.length > shown ? '; …' : ''}`;
}
