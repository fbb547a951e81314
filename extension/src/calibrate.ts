// "Calibrate concepts from dataset…": pick a labelled CSV/TSV/JSONL, its text and label columns, build
// a concept bank with the engine (progress with Cancel), then evaluate it and open the report.
import { randomBytes, randomUUID } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken, RequestType } from 'vscode-jsonrpc/node';
import { EngineRequests } from '../../common/engineProtocol';
import type { EngineErrorData, EvaluateReport, ProgressParams } from '../../common/protocol';
import { type EngineClient, EngineError } from './engineClient';
import { type DatasetPreview, datasetPreview } from '../../engine/src/api';
import { preferredTextColumn, sampleValues } from './columnChoice';
import { BACK, inputStep, pickStep } from './multiStepInput';
import { readSettings } from './config';
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
  let preview: DatasetPreview;
  try {
    preview = await datasetPreview(file.fsPath, PREVIEW_ROWS);
  } catch (e) {
    void vscode.window.showErrorMessage(`SEER: cannot read the columns of ${file.fsPath}: ${(e as Error).message}. Use a CSV/TSV with a header row, or JSONL objects.`);
    return;
  }
  const { columns } = preview;
  if (columns.length < 2) {
    void vscode.window.showErrorMessage(`SEER: ${file.fsPath} needs at least a text column and a label column (found ${columns.join(', ') || 'none'}).`);
    return;
  }
  const answers = await askColumnsAndName(file.fsPath, preview);
  if (!answers) return;
  const { text, label, bankName } = answers;
  const spec = { path: file.fsPath, textColumns: text, labelColumn: label };

  // The engine writes the bank to the user bank folder (global storage), never into the installed bundle.
  const run = (force: boolean) => withEngineProgress(engine, progressListeners, `SEER: calibrating “${bankName}”`,
    EngineRequests.calibrate, (token) => ({ ...spec, bankName, force, progressToken: token }));
  const result = await run(false).catch(async (e: unknown) => {
    if (!(e instanceof EngineError && e.code === 'BANK_EXISTS')) throw e;
    const replace = await vscode.window.showWarningMessage(`SEER: ${e.message}`, { modal: true, detail: 'Replace it with the bank calibrated from this dataset?' }, 'Replace');
    if (replace !== 'Replace') return undefined;
    return run(true);
  });
  if (!result) return;
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
    report = await withEngineProgress(engine, progressListeners, `SEER: evaluating “${bankName}”`,
      // No bank: prototypes from one half of each concept, classification of the other (held out).
      EngineRequests.evaluate, (token) => ({ ...spec, split: 0.5, seed: 1, safeConcepts: result.bank.safeConcepts, progressToken: token }));
  } catch (e) {
    if ((e as { code?: number | string }).code === -32601 || /Unhandled method/i.test((e as Error).message)) {
      log.info('this engine has no evaluate method: skipping the report');
      return;
    }
    throw e;
  }
  const panel = vscode.window.createWebviewPanel('seer.evaluation', `SEER evaluation: ${bankName}`, vscode.ViewColumn.Beside,
    { enableScripts: false, localResourceRoots: [] });
  panel.webview.html = evaluationReportHtml([report], randomBytes(16).toString('base64'), readSettings().heatmapScheme);
}

/** Rows read for the column pickers: enough to tell a shared template from a varying text. */
const PREVIEW_ROWS = 50;
const STEPS = 3;

/** Steps 1–3: text column(s), label column, bank name; Back returns to the step before with its answer kept. */
async function askColumnsAndName(file: string, preview: DatasetPreview): Promise<{ text: string[]; label: string; bankName: string } | undefined> {
  const columnItem = (c: string): vscode.QuickPickItem => ({ label: c, detail: sampleValues(preview, c) });
  const items = preview.columns.map(columnItem);
  const preferred = preferredTextColumn(preview);
  let text = items.filter((i) => i.label === preferred);
  let label: vscode.QuickPickItem | undefined;
  let bankName = path.basename(file).replace(/\.[^.]+$/, '').replace(/[^\w-]+/g, '-');
  for (let step = 1; step <= STEPS;) {
    if (step === 1) {
      const answer = await pickStep({ title: 'SEER: text column(s)', step, totalSteps: STEPS, items, canPickMany: true, selected: text,
        placeholder: 'The columns joined into each example text' });
      if (answer === undefined) return undefined;
      if (answer !== BACK) text = [...answer];
      step += answer === BACK ? -1 : 1;
    } else if (step === 2) {
      const labelItems = items.filter((i) => !text.includes(i));
      const answer = await pickStep({ title: 'SEER: label column', step, totalSteps: STEPS, items: labelItems, selected: label ? [label] : [],
        placeholder: 'The column holding each example\'s concept' });
      if (answer === undefined) return undefined;
      if (answer !== BACK) label = answer[0];
      step += answer === BACK ? -1 : 1;
    } else {
      const answer = await inputStep({ title: 'SEER: name of the concept bank', step, totalSteps: STEPS, value: bankName,
        validate: (v) => (/^[\w-]+$/.test(v) ? undefined : 'Letters, digits, - and _ only') });
      if (answer === undefined) return undefined;
      if (answer === BACK) {
        step -= 1;
        continue;
      }
      bankName = answer;
      step += 1;
    }
  }
  if (!label) return undefined;
  return { text: text.map((t) => t.label), label: label.label, bankName };
}

function withEngineProgress<P, R>(
  engine: EngineClient, listeners: Deps['progressListeners'], title: string, type: RequestType<P, R, EngineErrorData>, params: (token: string) => P,
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
      return await engine.request(type, params(token), cancel as unknown as RpcToken, CALIBRATE_TIMEOUT_MS);
    } finally {
      listeners.delete(token);
    }
  }));
}
