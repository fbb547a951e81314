// The inspection panel as a feature: shows it with the current settings, restores it after a reload
// (the serializer), follows the heatmap setting, and reports when a result has rendered.
import * as vscode from 'vscode';
import type { ExplainResult, PanelGenerateRequest, PanelSettings } from '../../common/protocol';
import { readSettings } from './config';
import { PANEL_VIEW_TYPE, SeerPanel, type PanelEvents } from './panel';

/** A panel that never answers (closed before it rendered) must not hold a caller forever. */
const RENDER_TIMEOUT_MS = 30_000;

export interface PanelFeature extends vscode.Disposable {
  show(): SeerPanel;
  /** Shows `result` and resolves with the webview's render time in ms (NaN if it never reports). */
  showResult(result: ExplainResult): Promise<number>;
  /** Who runs the panel's Generate and Stop (extension/src/generateFeature.ts). */
  setGenerationHandler(handler: GenerationHandler): void;
  /** Who opens a clicked row of Explain File's table and exports it (extension/src/explainFeature.ts). */
  setFileTableHandler(handler: FileTableHandler): void;
}

export interface FileTableHandler {
  open(index: number): void;
  exportCsv(): void;
}

export interface GenerationHandler {
  generate(text: string, request: PanelGenerateRequest): void;
  stop(): void;
}

export function registerPanel(extensionUri: vscode.Uri, log: vscode.LogOutputChannel): PanelFeature {
  const settings = (): PanelSettings => ({ heatmapScheme: readSettings().heatmapScheme });
  const renderWaiters = new Map<string, (ms: number) => void>();
  let generation: GenerationHandler | undefined;
  let fileTable: FileTableHandler | undefined;
  const events: PanelEvents = {
    log: (l) => log.info(l),
    onGenerate: (text, request) => generation?.generate(text, request),
    onStopGeneration: () => generation?.stop(),
    onOpenFileRow: (index) => fileTable?.open(index),
    onExportFileTable: () => fileTable?.exportCsv(),
    onRendered: (m) => {
      renderWaiters.get(m.id)?.(m.ms);
      renderWaiters.delete(m.id);
    },
  };
  const show = (): SeerPanel => SeerPanel.show(extensionUri, settings, events);
  const disposables = [
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, SeerPanel.serializer(extensionUri, settings, events)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('seer.heatmapScheme')) SeerPanel.instance?.updateSettings();
    }),
  ];
  return {
    show,
    async showResult(result) {
      const rendered = new Promise<number>((resolve) => renderWaiters.set(result.id, resolve));
      show().showResult(result);
      const ms = await Promise.race([rendered, new Promise<number>((r) => setTimeout(() => r(NaN), RENDER_TIMEOUT_MS))]);
      renderWaiters.delete(result.id);
      return ms;
    },
    setGenerationHandler: (handler) => {
      generation = handler;
    },
    setFileTableHandler: (handler) => {
      fileTable = handler;
    },
    dispose: () => disposables.forEach((d) => d.dispose()),
  };
}
