// "SEER: Import Hugging Face Model…": pick a checkpoint folder and where the bundle goes, run the import (the
// engine's importCheckpoint: the trainer shipped in the extension, under seer.pythonPath) with progress and
// Cancel, then offer to use the new bundle. The rules that need no VS Code are in importChecks.ts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { checkpointFolderProblem, type ImportDtype, importCheckpoint, SeerError } from '../../engine/src/api';
import { useBundle } from './engineFeature';
import type { ShowError } from './errorReport';
import { bundleNameProblem, existingOutput, outputLocationProblem, pythonFromSetting, suggestedBundleName, suggestedOutputParent } from './importChecks';

interface Deps {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  showError: ShowError;
}

interface ImportPlan {
  checkpoint: string;
  out: string;
  force: boolean;
  dtype?: ImportDtype;
}

/** A notification shows one short line: the trainer's current one, cut to this length. */
const PROGRESS_LINE_CHARS = 120;

export function registerImport(deps: Deps): vscode.Disposable {
  return vscode.commands.registerCommand('seer.importHfModel', async () => {
    try {
      const plan = await askPlan(deps.context.extensionPath);
      if (plan) await runImport(deps, plan);
    } catch (e) {
      if (e instanceof SeerError && e.code === 'CANCELLED') {
        void vscode.window.showInformationMessage('SEER: the import was cancelled; nothing was written.');
        return;
      }
      await deps.showError(e);
    }
  });
}

/** The user's answers, checked step by step; undefined when they stop. */
async function askPlan(extensionPath: string): Promise<ImportPlan | undefined> {
  const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
    defaultUri: workspaceFolders[0] ? vscode.Uri.file(workspaceFolders[0]) : undefined,
    openLabel: 'Import This Checkpoint', title: 'SEER: Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer.json)',
  });
  if (!picked?.[0]) return undefined;
  const checkpoint = picked[0].fsPath;
  const problem = await checkpointFolderProblem(checkpoint);
  if (problem) {
    void vscode.window.showErrorMessage(`SEER: ${problem} Pick the folder a Hugging Face model was downloaded or saved to.`);
    return undefined;
  }

  const parent = (await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
    defaultUri: vscode.Uri.file(suggestedOutputParent(workspaceFolders)),
    openLabel: 'Create the Bundle Here', title: 'SEER: folder in which to create the bundle (under your home or workspace)',
  }))?.[0]?.fsPath;
  if (!parent) return undefined;
  const parentProblem = outputLocationProblem(parent, extensionPath);
  if (parentProblem) {
    void vscode.window.showErrorMessage(`SEER: ${parentProblem}`);
    return undefined;
  }
  const name = await vscode.window.showInputBox({
    title: `SEER: name of the bundle folder in ${parent}`,
    value: suggestedBundleName(checkpoint),
    validateInput: async (v) => bundleNameProblem(v)
      ?? ((await existingOutput(path.join(parent, v.trim()))) === 'other' ? `${path.join(parent, v.trim())} exists and is not a SEER bundle; choose another name.` : undefined),
  });
  if (!name) return undefined;
  const out = path.join(parent, name.trim());
  const outProblem = outputLocationProblem(out, extensionPath);
  if (outProblem) {
    void vscode.window.showErrorMessage(`SEER: ${outProblem}`);
    return undefined;
  }
  const existing = await existingOutput(out);
  if (existing === 'other') {
    void vscode.window.showErrorMessage(`SEER: ${out} exists and is not a SEER bundle; run the import again with another name.`);
    return undefined;
  }
  if (existing === 'replaceable') {
    const replace = await vscode.window.showWarningMessage(`SEER: ${out} already exists. Replace it with the imported model?`, { modal: true }, 'Replace');
    if (replace !== 'Replace') return undefined;
  }

  const dtype = await vscode.window.showQuickPick(
    [
      { label: 'fp32', description: 'exact (default)', dtype: undefined },
      { label: 'fp16', description: 'half the size on disk and in memory; outputs stay fp32', dtype: 'fp16' as const },
    ],
    { title: 'SEER: weights of the bundle' },
  );
  if (!dtype) return undefined;
  return { checkpoint, out, force: existing === 'replaceable', dtype: dtype.dtype };
}

async function runImport({ context, log }: Deps, plan: ImportPlan): Promise<void> {
  const name = path.basename(plan.checkpoint);
  log.info(`import: ${plan.checkpoint} → ${plan.out}${plan.dtype ? ` (${plan.dtype})` : ''}`);
  await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `SEER: importing ${name}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const onCancel = token.onCancellationRequested(() => controller.abort());
      progress.report({ message: 'checking Python (torch, onnx, jinja2)…' });
      try {
        await importCheckpoint({
          ...plan,
          python: pythonFromSetting(vscode.workspace.getConfiguration('seer').get<string>('pythonPath')),
          trainerDir: context.asAbsolutePath('trainer'),
          signal: controller.signal,
          onLine: (line, stream) => {
            (stream === 'stderr' ? log.warn : log.info).call(log, `import: ${line}`);
            if (line.trim()) progress.report({ message: line.length > PROGRESS_LINE_CHARS ? `${line.slice(0, PROGRESS_LINE_CHARS - 1)}…` : line });
          },
        });
      } finally {
        onCancel.dispose();
      }
    },
  );
  log.info(`import: wrote ${plan.out}`);
  const choice = await vscode.window.showInformationMessage(
    `SEER: imported ${name} as ${plan.out}. It has no concept bank yet: once it is selected, build one with "SEER: Calibrate Concepts from Dataset…".`,
    'Use This Bundle', 'Show Output',
  );
  if (choice === 'Use This Bundle') await useBundle(plan.out);
  if (choice === 'Show Output') log.show();
}
