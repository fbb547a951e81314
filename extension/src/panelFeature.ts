// The inspection panel as a feature: shows it with the current settings, restores it after a reload
// (the serializer), follows the heatmap setting, and reports when a result has rendered.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import type { ExplainResult, PanelGenerateRequest, PanelSettings } from '../../common/protocol';
import type { Comparison } from '../../engine/src/api';
import { readSettings } from './config';
import { PANEL_VIEW_TYPE, SeerPanel, type PanelEvents } from './panel';

/** A panel that never answers (closed before it rendered) must not hold a caller forever. */
const RENDER_TIMEOUT_MS = 30_000;

export interface PanelFeature extends vscode.Disposable {
  show(): SeerPanel;
  /** Shows `result` and resolves with the webview's render time in ms (NaN if it never reports). */
  showResult(result: ExplainResult): Promise<number>;
  /** Shows the compare view and resolves with its render time in ms (NaN if it never reports). */
  showComparison(comparison: Comparison): Promise<number>;
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
  /** Runs `post` (which sends view `id` to the webview) and resolves with the render time the webview reports. */
  const whenRendered = async (id: string, post: () => void): Promise<number> => {
    const rendered = new Promise<number>((resolve) => renderWaiters.set(id, resolve));
    post();
    const ms = await Promise.race([rendered, new Promise<number>((r) => setTimeout(() => r(NaN), RENDER_TIMEOUT_MS))]);
    renderWaiters.delete(id);
    return ms;
  };
  const disposables = [
    vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, SeerPanel.serializer(extensionUri, settings, events)),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('seer.heatmapScheme')) SeerPanel.instance?.updateSettings();
    }),
  ];
  return {
    show,
    showResult: (result) => whenRendered(result.id, () => show().showResult(result)),
    showComparison: (comparison) => {
      const id = `comparison-${randomUUID()}`;
      return whenRendered(id, () => show().showComparison(id, comparison));
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
