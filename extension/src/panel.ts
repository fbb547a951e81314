// The inspection panel: one WebviewPanel per session beside the editor, restored after a reload by
// the serializer from the state the webview saved. Messages from the webview are validated here.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import {
  isFromWebviewMessage,
  type ExplainResult,
  type FromWebviewMessage,
  type PanelGenerateRequest,
  type PanelSettings,
  type PanelState,
  type ToWebviewMessage,
} from '../../common/protocol';
import { saveChart, saveResult } from './exporter';

export const PANEL_VIEW_TYPE = 'seer.panel';

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
  /** Messages sent before the webview's script said 'ready' (they would be lost). */
  private queued: ToWebviewMessage[] = [];
  private markReady!: () => void;
  /** Resolves when the webview's script has loaded (its first load dominates the first explain). */
  readonly whenReady = new Promise<void>((resolve) => (this.markReady = resolve));

  /** Shows the panel (creating it beside the active editor if needed). */
  static show(extensionUri: vscode.Uri, settings: () => PanelSettings, events: PanelEvents): SeerPanel {
    if (SeerPanel.current) {
      SeerPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
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

  /** A generated token, a run's end or a failed generation, for the Generate card. */
  showGeneration(msg: Extract<ToWebviewMessage, { type: 'generationStep' | 'generationEnd' | 'generationError' }>): void {
    this.post(msg);
  }

  /** A batch of Explain File's table rows. */
  showFileRows(msg: Omit<Extract<ToWebviewMessage, { type: 'fileRows' }>, 'type'>): void {
    this.post({ type: 'fileRows', ...msg });
  }

  updateSettings(): void {
    this.post({ type: 'settings', settings: this.settings() });
  }

  private post(msg: ToWebviewMessage): void {
    if (this.ready) void this.panel.webview.postMessage(msg);
    else this.queued.push(msg);
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
