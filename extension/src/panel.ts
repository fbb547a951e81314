// The inspection panel: one WebviewPanel per session beside the editor, restored after a reload by
// the serializer from the state the webview saved. Messages from the webview are validated here.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  isFromWebviewMessage,
  type ExplainResult,
  type FileRow,
  type FromWebviewMessage,
  type PanelGenerateRequest,
  type PanelSettings,
  type PanelState,
  type ToWebviewMessage,
} from '../../common/protocol';
import type { Comparison } from '../../engine/src/api';
import { saveChart, saveResult } from './exporter';

export const PANEL_VIEW_TYPE = 'seer.panel';
/** Rows per message when a reloaded webview is sent Explain File's table again (~0.5 MB each). */
const FILE_REPLAY_BATCH = 2000;

export interface PanelEvents {
  /** The webview rendered a result (benchmarks and tests listen). */
  onRendered?: (msg: Extract<FromWebviewMessage, { type: 'rendered' }>) => void;
  /** Generate pressed: continue `text`, the prompt of the result the panel shows (extension/src/generateFeature.ts). */
  onGenerate?: (text: string, request: PanelGenerateRequest) => void;
  onStopGeneration?: () => void;
  /** Explain File's table: a row clicked, Export CSV pressed (extension/src/explainFeature.ts). */
  onOpenFileRow?: (index: number) => void;
  onExportFileTable?: () => void;
  log: (line: string) => void;
}

export class SeerPanel {
  private static current?: SeerPanel;
  private result?: ExplainResult;
  private ready = false;
  /** Messages sent while the webview's script is not loaded (before its 'ready', or while hidden): they would be lost. */
  private queued: ToWebviewMessage[] = [];
  /** Explain File's table so far: sent again whenever the webview (re)loads, since its saved state does not hold it. */
  private fileTable?: { file: string; total: number; rows: FileRow[]; done: boolean };
  private markReady!: () => void;
  /** Resolves when the webview's script has loaded (its first load dominates the first explain). */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));

  /** Shows the panel (creating it beside the active editor if needed). */
  static show(extensionUri: vscode.Uri, settings: () => PanelSettings, events: PanelEvents): SeerPanel {
    if (SeerPanel.current) {
      // Where it is: revealing it "beside" the active editor would move it to another group, and a moved webview
      // reloads (losing what it showed that its saved state does not hold, such as Explain File's table).
      SeerPanel.current.panel.reveal(undefined, true);
      return SeerPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'SEER', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
      SeerPanel.options(extensionUri));
    SeerPanel.current = new SeerPanel(panel, extensionUri, settings, events);
    return SeerPanel.current;
  }

  static get instance(): SeerPanel | undefined {
    return SeerPanel.current;
  }

  /** The result the panel shows (a generation records the explanation it continued). */
  get shownResult(): ExplainResult | undefined {
    return this.result;
  }

  static serializer(extensionUri: vscode.Uri, settings: () => PanelSettings, events: PanelEvents): vscode.WebviewPanelSerializer<PanelState> {
    return {
      async deserializeWebviewPanel(panel, state) {
        panel.webview.options = SeerPanel.options(extensionUri);
        SeerPanel.current?.panel.dispose();
        SeerPanel.current = new SeerPanel(panel, extensionUri, settings, events);
        // The webview restores its own view from getState(); the host only needs to know the result for exports.
        if (state?.result && Array.isArray(state.result.layers)) SeerPanel.current.result = state.result;
      },
    };
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
  }

  private constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly settings: () => PanelSettings,
    private readonly events: PanelEvents,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'seer.svg');
    panel.webview.html = this.html();
    panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m));
    panel.onDidDispose(() => {
      if (SeerPanel.current === this) SeerPanel.current = undefined;
    });
    // Hidden (retainContextWhenHidden is off) or moved to another group, the webview is unloaded: queue until its
    // script says 'ready' again.
    let column = panel.viewColumn;
    panel.onDidChangeViewState(({ webviewPanel }) => {
      if (!webviewPanel.visible || webviewPanel.viewColumn !== column) this.ready = false;
      column = webviewPanel.viewColumn;
    });
  }

  showResult(result: ExplainResult): void {
    this.result = result;
    this.panel.title = `SEER: ${result.headline.concept}`;
    this.post({ type: 'result', result, settings: this.settings() });
  }

  showBusy(message: string): void {
    this.post({ type: 'busy', message });
  }

  /** A failed explain: the webview clears the previous result, and so does the host (exports included). */
  showError(message: string): void {
    this.result = undefined;
    this.panel.title = 'SEER';
    this.post({ type: 'error', message });
  }

  /** A generated token, a run's end, a failed generation or a recorded one reopened, for the Generate card. */
  showGeneration(msg: Extract<ToWebviewMessage, { type: 'generationStep' | 'generationEnd' | 'generationError' | 'generationRecorded' }>): void {
    this.post(msg);
  }

  /** Two or more explanations side by side (the compare view); `id` comes back in the webview's 'rendered'. */
  showComparison(id: string, comparison: Comparison): void {
    const [a, ...others] = comparison.sides.map((s) => s.headline.concept);
    this.panel.title = comparison.changes.some((ch) => ch.headlineChanged) ? `SEER: ${a} → ${others.join(', ')}` : `SEER: compare (${a})`;
    this.post({ type: 'comparison', id, comparison });
  }

  /** A batch of Explain File's table rows. */
  showFileRows(msg: Omit<Extract<ToWebviewMessage, { type: 'fileRows' }>, 'type'>): void {
    const rows = msg.reset || !this.fileTable ? [...msg.rows] : [...this.fileTable.rows, ...msg.rows];
    this.fileTable = { file: msg.file, total: msg.total, rows, done: msg.done };
    if (this.ready) void this.panel.webview.postMessage({ type: 'fileRows', ...msg });
  }

  updateSettings(): void {
    this.post({ type: 'settings', settings: this.settings() });
  }

  private post(msg: ToWebviewMessage): void {
    if (this.ready) void this.panel.webview.postMessage(msg);
    else this.queued.push(msg);
  }

  /** The whole file table to a freshly loaded webview, in batches of bounded size. */
  private replayFileTable(): void {
    const t = this.fileTable;
    if (!t) return;
    for (let at = 0; at === 0 || at < t.rows.length; at += FILE_REPLAY_BATCH) {
      const last = at + FILE_REPLAY_BATCH >= t.rows.length;
      void this.panel.webview.postMessage({
        type: 'fileRows', file: t.file, total: t.total, rows: t.rows.slice(at, at + FILE_REPLAY_BATCH), reset: at === 0, done: last && t.done,
      } satisfies ToWebviewMessage);
    }
  }

  private receive(m: unknown): void {
    if (!isFromWebviewMessage(m)) {
      this.events.log(`ignored an invalid message from the panel: ${JSON.stringify(m)?.slice(0, 200)}`);
      return;
    }
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.markReady();
        for (const q of this.queued.splice(0)) void this.panel.webview.postMessage(q);
        this.replayFileTable();
        break;
      case 'rendered':
        this.events.log(`panel rendered ${m.id} in ${m.ms.toFixed(1)} ms (${m.charts.join(', ')})`);
        this.events.onRendered?.(m);
        break;
      case 'exportChart':
        void saveChart(m.chart, m.format, m.data, this.result).catch((e: Error) =>
          vscode.window.showErrorMessage(`SEER: could not save the chart: ${e.message}`));
        break;
      case 'exportResult':
        if (!this.result) {
          void vscode.window.showWarningMessage('SEER: nothing to export yet; explain a prompt first.');
          break;
        }
        void saveResult(this.result, m.format).catch((e: Error) =>
          vscode.window.showErrorMessage(`SEER: could not save the result: ${e.message}`));
        break;
      case 'generate': {
        // The prompt is the host's own result's, never text from the webview.
        const { type: _, ...request } = m;
        if (this.result) this.events.onGenerate?.(this.result.text, request);
        else this.post({ type: 'generationError', id: request.id, message: 'Explain a prompt first: Generate continues it.' });
        break;
      }
      case 'stopGeneration':
        this.events.onStopGeneration?.();
        break;
      case 'openFileRow':
        this.events.onOpenFileRow?.(m.index);
        break;
      case 'exportFileTable':
        this.events.onExportFileTable?.();
        break;
    }
  }

  private html(): string {
    const webview = this.panel.webview;
    const nonce = randomBytes(16).toString('base64'); // Unguessable, so an injected script cannot carry it.
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview.js'));
    const style = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'panel.css'));
    const csp = [
      "default-src 'none'",
      `img-src ${webview.cspSource} data:`,
      `style-src ${webview.cspSource}`,
      `script-src 'nonce-${nonce}'`,
      `font-src ${webview.cspSource}`,
    ].join('; ');
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>SEER</title>
</head>
<body>
<main id="root"><p class="empty">Select a prompt and run <b>Explain with SEER</b> (Ctrl+Alt+E).</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }
}
