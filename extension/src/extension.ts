// Activation wires the features together; each feature registers its own commands and listeners and
// returns their disposables. Nothing heavy starts here: the engine process starts at the first explain.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SESSION_FILE_NAME } from '../../engine/src/api';
import { registerCalibrate } from './calibrate';
import { registerCompare } from './compareFeature';
import { readSettings } from './config';
import { registerEngine, ModelStatusView } from './engineFeature';
import { createErrorReporter } from './errorReport';
import { registerExplain, type Explained } from './explainFeature';
import { registerGenerate } from './generateFeature';
import { registerHistory } from './historyFeature';
import { registerImport } from './importFeature';
import { HistoryStore } from './historyStore';
import { recordMetric } from './metrics';
import { registerPanel } from './panelFeature';
import { SeerSidebar } from './sidebar';

export interface SeerApi {
  /** Explains `text` and resolves once the panel has rendered it (for integration tests). */
  explainText(text: string): Promise<Explained>;
}

export function activate(context: vscode.ExtensionContext): SeerApi {
  const activatedAt = performance.now();
  const log = vscode.window.createOutputChannel('SEER', { log: true });
  const storage = context.storageUri ?? context.globalStorageUri;
  // The session: the workspace's .seer-session.json, or one in global storage without a folder (docs/extension.md#sessions).
  const sessionDir = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? context.globalStorageUri.fsPath;
  const store = new HistoryStore(path.join(sessionDir, SESSION_FILE_NAME), path.join(storage.fsPath, 'history'), { warn: (line) => log.warn(line) });
  const sidebar = new SeerSidebar(store);
  const status = new ModelStatusView(context.extensionPath, sidebar);
  const showError = createErrorReporter(log, (problem) => status.show(undefined, problem));

  const panel = registerPanel(context.extensionUri, log);
  const engineFeature = registerEngine({ context, log, status, showError });
  const { engine, progressListeners, generationListeners } = engineFeature;
  const history = registerHistory({ store, sidebar, log, showError });
  const explain = registerExplain({ engine, panel, history, log, showError, extensionUri: context.extensionUri });
  context.subscriptions.push(
    log, sidebar, status, panel, engineFeature, history, explain,
    registerCalibrate({ engine, log, progressListeners, showError }),
    registerImport({ context, log, showError }),
    registerCompare({ engines: engineFeature, panel, history, store, extensionPath: context.extensionPath, log, showError }),
    registerGenerate({
      engine, panel, history, explainText: (text) => explain.explainText(text), generationListeners,
      requestTimeoutMs: readSettings().requestTimeoutSeconds * 1000, log, showError,
    }),
  );

  const activateMs = performance.now() - activatedAt;
  log.info(`activated in ${activateMs.toFixed(1)} ms (engine not started)`);
  recordMetric('activate', { ms: activateMs });
  return { explainText: (text) => explain.explainText(text) };
}
