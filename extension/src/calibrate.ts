// "Calibrate concepts from dataset…": pick a labelled CSV/TSV/JSONL, its text and label columns, build
// a concept bank with the engine (progress with Cancel), then evaluate it and open the report.
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken } from 'vscode-jsonrpc/node';
import { EngineMethods, type CalibrateParams, type CalibrateResult, type EvaluateReport, type ProgressParams } from '../../common/protocol';
import type { EngineClient } from './engineClient';
import { datasetColumns } from './datasetColumns';
import { evaluationReportHtml } from './evaluationHtml';

interface Deps {
  engine: EngineClient;
  log: vscode.LogOutputChannel;
  progressListeners: Map<string, (p: ProgressParams) => void>;
  showError: (e: unknown) => Promise<void>;
}

const CALIBRATE_TIMEOUT_MS = 60 * 60 * 1000;

export function registerCalibrate(deps: Deps): vscode.Disposable {
  return vscode.commands.registerCommand('seer.calibrate', async (uri?: vscode.Uri) => {
    try {
      await calibrate(deps, uri);
    } catch (e) {
      await deps.showError(e);
    }
  });
}

async function calibrate({ engine, log, progressListeners }: Deps, uri?: vscode.Uri): Promise<void> {
  const file = uri ?? (await vscode.window.showOpenDialog({
    canSelectMany: false, openLabel: 'Calibrate From This Dataset', title: 'SEER: labelled dataset (CSV, TSV or JSONL)',
    filters: { 'Labelled data': ['csv', 'tsv', 'jsonl'] },
  }))?.[0];
  if (!file) return;
  let columns: string[];
  try {
    columns = await datasetColumns(file.fsPath);
  } catch (e) {
    void vscode.window.showErrorMessage(`SEER: cannot read the columns of ${file.fsPath}: ${(e as Error).message}. Use a CSV/TSV with a header row, or JSONL objects.`);
    return;
  }
  if (columns.length < 2) {
    void vscode.window.showErrorMessage(`SEER: ${file.fsPath} needs at least a text column and a label column (found ${columns.join(', ') || 'none'}).`);
    return;
  }
  const text = await vscode.window.showQuickPick(columns.map((c) => ({ label: c, picked: /prompt|text/i.test(c) })), {
    canPickMany: true, title: 'SEER: text column(s)', placeHolder: 'The columns joined into each example text',
  });
  if (!text?.length) return;
  const label = await vscode.window.showQuickPick(columns.filter((c) => !text.some((t) => t.label === c)), {
    title: 'SEER: label column', placeHolder: 'The column holding each example\'s concept',
  });
  if (!label) return;
  const bankName = await vscode.window.showInputBox({
    title: 'SEER: name of the concept bank', value: path.basename(file.fsPath).replace(/\.[^.]+$/, '').replace(/[^\w-]+/g, '-'),
    validateInput: (v) => (/^[\w-]+$/.test(v) ? undefined : 'Letters, digits, - and _ only'),
  });
  if (!bankName) return;
  const spec = { path: file.fsPath, textColumns: text.map((t) => t.label), labelColumn: label };

  const result = await withEngineProgress<CalibrateResult>(engine, progressListeners, `SEER: calibrating “${bankName}”`,
    EngineMethods.calibrate, (token) => ({ ...spec, bankName, progressToken: token } satisfies CalibrateParams));
  log.info(`calibrated ${result.bankPath}: ${result.rows.rowsUsed} rows used, ${result.rows.rowsSkipped} skipped, ` +
    `${result.examplesPerSecond.toFixed(1)} examples/s`);
  const skipped = Object.entries(result.rows.skipped).map(([k, v]) => `${v} ${k}`).join(', ');
  // The engine lists a bundle's banks when it loads: reload so that the new bank can be used.
  await engine.reload();
  void Promise.resolve(vscode.window.showInformationMessage(
    `SEER: bank “${result.bank.name}” written to ${result.bankPath} (${result.rows.rowsUsed} rows${skipped ? `; skipped ${skipped}` : ''}).`,
    'Explain With This Bank',
  ))
    .then((choice) => choice && vscode.workspace.getConfiguration('seer').update('bank', result.bank.name, vscode.ConfigurationTarget.Global))
    .catch((e: Error) => log.warn(`could not select the bank: ${e.message}`));

  let report: EvaluateReport;
  try {
    report = await withEngineProgress<EvaluateReport>(engine, progressListeners, `SEER: evaluating “${bankName}”`,
      // No bank: prototypes from one half of each concept, classification of the other (held out).
      EngineMethods.evaluate, (token) => ({ ...spec, split: 0.5, seed: 1, safeConcepts: result.bank.safeConcepts, progressToken: token }));
  } catch (e) {
    if ((e as { code?: number | string }).code === -32601 || /Unhandled method/i.test((e as Error).message)) {
      log.info('this engine has no evaluate method: skipping the report');
      return;
    }
    throw e;
  }
  const panel = vscode.window.createWebviewPanel('seer.evaluation', `SEER evaluation: ${bankName}`, vscode.ViewColumn.Beside,
    { enableScripts: false, localResourceRoots: [] });
  panel.webview.html = evaluationReportHtml([report], randomBytes(16).toString('base64'));
}

function withEngineProgress<R>(
  engine: EngineClient, listeners: Deps['progressListeners'], title: string, method: string, params: (token: string) => unknown,
): Promise<R> {
  return Promise.resolve(vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, cancel) => {
    const token = randomUUID();
    let reported = 0;
    listeners.set(token, (p) => {
      const pctDone = p.total > 0 ? (100 * p.done) / p.total : 0;
      progress.report({ increment: pctDone - reported, message: p.message ?? `${p.done} / ${p.total}` });
      reported = pctDone;
    });
    try {
      return await engine.request<R>(method, params(token), cancel as unknown as RpcToken, CALIBRATE_TIMEOUT_MS);
    } finally {
      listeners.delete(token);
    }
  }));
}
