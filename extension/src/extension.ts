// Activation wires commands, views, the panel serializer and the status bar; it starts nothing heavy.
// The engine child process starts at the first explain (EngineClient.ensureLoaded).
import * as path from 'node:path';
import { appendFileSync } from 'node:fs';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken } from 'vscode-jsonrpc/node';
import type { ExplainResult, LoadResult, PanelSettings, ProgressParams } from '../../common/protocol';
import { registerCalibrate } from './calibrate';
import { EngineClient, toEngineError } from './engineClient';
import { HistoryStore } from './historyStore';
import { SeerPanel, PANEL_VIEW_TYPE } from './panel';
import { MAX_PROMPT_CHARS, parsePromptFile, pickPrompt, PromptError } from './promptText';
import { explainOptions, resolveBundleDir, SettingsError, type SeerSettings } from './settings';
import { SeerSidebar } from './sidebar';

/** Benchmarks and the end-to-end test set SEER_METRICS_FILE to collect timings as JSON lines. */
function metric(event: string, data: Record<string, unknown>): void {
  const file = process.env.SEER_METRICS_FILE;
  if (file) appendFileSync(file, JSON.stringify({ event, at: Date.now(), ...data }) + '\n');
}

function readSettings(): SeerSettings {
  const c = vscode.workspace.getConfiguration('seer');
  return {
    provider: c.get('executionProvider', 'auto'),
    bank: c.get('bank', ''),
    representation: c.get('representation', 'last'),
    layerRange: c.get('layerRange', ''),
    maxTokens: c.get('maxTokens', 0),
    heatmapScheme: c.get('heatmapScheme', 'diverging'),
    requestTimeoutSeconds: c.get('requestTimeoutSeconds', 120),
  };
}

export interface SeerApi {
  /** Explains `text` and resolves once the panel has rendered it (for integration tests). */
  explainText(text: string): Promise<{ result: ExplainResult; renderMs: number }>;
}

export function activate(context: vscode.ExtensionContext): SeerApi {
  const activatedAt = performance.now();
  const log = vscode.window.createOutputChannel('SEER', { log: true });
  const storage = context.storageUri ?? context.globalStorageUri;
  const history = new HistoryStore(path.join(storage.fsPath, 'history'));
  const sidebar = new SeerSidebar(history);
  const status = vscode.window.createStatusBarItem('seer.status', vscode.StatusBarAlignment.Right, 100);
  status.name = 'SEER model';
  status.command = 'seer.showOutput';
  const panelSettings = (): PanelSettings => ({ heatmapScheme: readSettings().heatmapScheme });
  const renderWaiters = new Map<string, (ms: number) => void>();
  const panelEvents = {
    log: (l: string) => log.info(l),
    onRendered: (m: { id: string; ms: number }) => {
      renderWaiters.get(m.id)?.(m.ms);
      renderWaiters.delete(m.id);
    },
  };

  const bundleLocation = () => {
    const inspected = vscode.workspace.getConfiguration('seer').inspect<string>('bundlePath');
    return resolveBundleDir(
      { globalValue: inspected?.globalValue, workspaceValue: inspected?.workspaceValue, workspaceFolderValue: inspected?.workspaceFolderValue },
      {
        trusted: vscode.workspace.isTrusted,
        extensionPath: context.extensionPath,
        workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
      },
    );
  };

  const updateStatus = (load?: LoadResult, error?: string): void => {
    let where: ReturnType<typeof bundleLocation> | undefined;
    try {
      where = bundleLocation();
    } catch (e) {
      error ??= (e as Error).message;
    }
    sidebar.setStatus({ load, bundleDir: where?.dir ?? '', error, note: where?.ignored });
    status.text = load ? `$(symbol-misc) SEER: ${load.bundle.name} · ${load.provider.used}` : '$(symbol-misc) SEER';
    status.tooltip = load
      ? `${load.bundle.name} (${load.bundle.architecture.numLayers} layers, ${load.bundle.concepts.length} concepts) on ${load.provider.used}`
      : error ?? 'SEER: the model loads at the first explain';
    status.show();
  };

  const progressListeners = new Map<string, (p: ProgressParams) => void>();
  const recentCrashes: number[] = [];
  const engine = new EngineClient({
    serverPath: context.asAbsolutePath(path.join('dist', 'engine-server.js')),
    config: () => ({ bundleDir: bundleLocation().dir, provider: readSettings().provider }),
    requestTimeoutMs: readSettings().requestTimeoutSeconds * 1000,
    log: (l) => log.info(l),
    onLoaded: (r) => updateStatus(r),
    onProgress: (p) => progressListeners.get(p.token)?.(p),
    onCrash: (reason) => {
      updateStatus(undefined, `engine stopped: ${reason}`);
      const now = Date.now();
      recentCrashes.push(now);
      while (recentCrashes.length && recentCrashes[0] < now - 60_000) recentCrashes.shift();
      // Restart at once if it had loaded a model, unless it keeps dying: else wait for the next request.
      const restart = engine.loaded !== undefined && recentCrashes.length <= 3;
      if (restart) void engine.ensureLoaded().catch((e: unknown) => log.error(`restart failed: ${toEngineError(e).message}`));
      void vscode.window
        .showWarningMessage(`SEER: the engine stopped (${reason}). ${restart ? 'It was restarted.' : 'It restarts at the next request.'}`, 'Show Output')
        .then((b) => b && log.show());
    },
  });

  const showError = async (e: unknown): Promise<void> => {
    if (e instanceof PromptError || e instanceof SettingsError) {
      void vscode.window.showWarningMessage(`SEER: ${e.message}`);
      return;
    }
    const err = toEngineError(e);
    if (err.code === 'CANCELLED') SeerPanel.instance?.showBusy('Cancelled. Run Explain with SEER again to explain a prompt.');
    if (err.quiet) return;
    log.error(`${err.code}: ${err.message}${err.file ? ` (${err.file})` : ''}`);
    SeerPanel.instance?.showError(`${err.message}${err.fix ? ` ${err.fix}` : ''}`);
    // A crash already has its own notification (onCrash).
    if (err.code === 'ENGINE_CRASHED' || err.code === 'ENGINE_TIMEOUT') return;
    const bundleProblem = /BUNDLE|MODEL|TOKENIZER|BANK/.test(err.code);
    if (bundleProblem) updateStatus(undefined, err.message);
    const buttons = bundleProblem ? ['Select Another Bundle…', 'Show Output'] : ['Show Output'];
    const choice = await vscode.window.showErrorMessage(`SEER: ${err.message}${err.fix ? ` ${err.fix}` : ''}`, ...buttons);
    if (choice === 'Show Output') log.show();
    if (choice === 'Select Another Bundle…') await vscode.commands.executeCommand('seer.selectBundle');
  };

  /** Explains one prompt with a cancellable progress notification and shows it in the panel. */
  const explain = async (text: string, label: string): Promise<{ result: ExplainResult; renderMs: number }> => {
    const started = performance.now();
    const cold = !engine.loaded || !engine.running;
    const panel = SeerPanel.show(context.extensionUri, panelSettings, panelEvents);
    let webviewReadyMs = 0;
    void panel.whenReady.then(() => (webviewReadyMs = performance.now() - started));
    panel.showBusy(`Explaining the ${label}…`);
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SEER: explaining the ${label}`, cancellable: true },
      (_progress, token) => engine.explain(text, explainOptions(readSettings()), token as unknown as RpcToken),
    );
    const engineMs = performance.now() - started;
    const rendered = new Promise<number>((resolve) => renderWaiters.set(result.id, resolve));
    SeerPanel.show(context.extensionUri, panelSettings, panelEvents).showResult(result);
    void history.add(result).then(() => sidebar.refreshHistory(), (e: Error) => log.warn(`history not saved: ${e.message}`));
    const renderMs = await Promise.race([rendered, new Promise<number>((r) => setTimeout(() => r(NaN), 30_000))]);
    renderWaiters.delete(result.id); // the panel may have been closed before it rendered
    const totalMs = performance.now() - started;
    log.info(`explained ${result.tokens.length} tokens: ${result.headline.concept} ${(result.headline.confidence * 100).toFixed(1)}% ` +
      `(engine ${engineMs.toFixed(0)} ms${cold ? ', incl. start' : ''}, render ${renderMs.toFixed(0)} ms, total ${totalMs.toFixed(0)} ms)`);
    metric('explain', { cold, engineMs, webviewReadyMs, renderMs, totalMs, tokens: result.tokens.length, engineTotalMs: result.timingsMs.total });
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
    const bytes = await vscode.workspace.fs.readFile(target);
    const prompts = parsePromptFile(path.basename(target.path), Buffer.from(bytes).toString('utf8'));
    const picked = prompts.length === 1 ? { prompt: prompts[0] } : await vscode.window.showQuickPick(
      prompts.map((p, i) => ({ label: p.replace(/\s+/g, ' ').slice(0, 120), description: `#${i + 1}`, prompt: p })),
      { title: `SEER: ${prompts.length} prompts in ${path.basename(target.path)}`, placeHolder: 'Pick the prompt to explain', matchOnDescription: true },
    );
    if (picked) await explain(picked.prompt, 'prompt');
  };

  const selectBundle = async (): Promise<void> => {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
      openLabel: 'Use This SEER Bundle', title: 'Select a SEER model bundle (a folder with seer.json)',
    });
    if (!picked?.[0]) return;
    const dir = picked[0].fsPath;
    try {
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(picked[0], 'seer.json'));
    } catch {
      void vscode.window.showErrorMessage(`SEER: ${dir} has no seer.json; pick the bundle folder itself (e.g. models/default).`);
      return;
    }
    await vscode.workspace.getConfiguration('seer').update('bundlePath', dir, vscode.ConfigurationTarget.Global);
  };

  const openHistoryEntry = async (id: string): Promise<void> => {
    const result = await history.get(id);
    if (!result) {
      void vscode.window.showWarningMessage('SEER: this history entry is no longer stored; explain the prompt again.');
      return;
    }
    SeerPanel.show(context.extensionUri, panelSettings, panelEvents).showResult(result);
  };

  const guarded = <A extends unknown[]>(fn: (...a: A) => Promise<unknown>) => async (...a: A): Promise<void> => {
    try {
      await fn(...a);
    } catch (e) {
      await showError(e);
    }
  };

  updateStatus();
  context.subscriptions.push(
    log, status, sidebar,
    { dispose: () => void engine.dispose() },
    vscode.commands.registerCommand('seer.explainSelection', guarded(explainSelection)),
    vscode.commands.registerCommand('seer.explainFile', guarded(explainFile)),
    vscode.commands.registerCommand('seer.selectBundle', guarded(selectBundle)),
    vscode.commands.registerCommand('seer.showOutput', () => log.show()),
    vscode.commands.registerCommand('seer.openHistoryEntry', guarded(openHistoryEntry)),
    vscode.commands.registerCommand('seer.clearHistory', guarded(async () => {
      await history.clear();
      sidebar.refreshHistory();
    })),
    vscode.commands.registerCommand('seer.restartEngine', guarded(async () => {
      await engine.reload();
      await engine.ensureLoaded();
    })),
    registerCalibrate({ engine, log, progressListeners, showError }),
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, SeerPanel.serializer(context.extensionUri, panelSettings, panelEvents)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('seer.bundlePath') || e.affectsConfiguration('seer.executionProvider')) {
        log.info('bundle or provider setting changed: the engine reloads at the next request');
        void engine.reload().then(() => updateStatus());
      }
      if (e.affectsConfiguration('seer.heatmapScheme')) SeerPanel.instance?.updateSettings();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => void engine.reload().then(() => updateStatus())),
  );
  const activateMs = performance.now() - activatedAt;
  log.info(`activated in ${activateMs.toFixed(1)} ms (engine not started)`);
  metric('activate', { ms: activateMs });

  return {
    explainText: (text: string) => explain(text, 'text'),
  };
}
