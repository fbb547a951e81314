// How a failed command reaches the user: settings and prompt mistakes as a warning, engine errors by
// category (cancelled: quiet; bundle: the status shows it and "Select Another Bundle…" is offered;
// a crash or hang: already announced by the engine feature), always with the fix and in the output log.
import * as vscode from 'vscode';
import { SeerError } from '../../engine/src/api';
import { EngineError, toEngineError } from './engineClient';
import { SeerPanel } from './panel';
import { PromptError } from './promptText';
import { SettingsError } from './settings';

export type ShowError = (e: unknown) => Promise<void>;

export function createErrorReporter(log: vscode.LogOutputChannel, onBundleProblem: (message: string) => void): ShowError {
  return async (e) => {
    if (e instanceof PromptError || e instanceof SettingsError) {
      void vscode.window.showWarningMessage(`SEER: ${e.message}`);
      return;
    }
    // A SeerError comes from the engine's API run in this process (e.g. reading a prompt file).
    const err = e instanceof SeerError ? new EngineError(e.message, e.code, e.file, e.fixFor('editor')) : toEngineError(e);
    if (err.code === 'CANCELLED') SeerPanel.instance?.showBusy('Cancelled. Run Explain with SEER again to explain a prompt.');
    if (err.quiet) return;
    const text = `${err.message}${err.fix ? ` ${err.fix}` : ''}`;
    log.error(`${err.code}: ${err.message}${err.file ? ` (${err.file})` : ''}`);
    SeerPanel.instance?.showError(text);
    if (err.code === 'ENGINE_CRASHED' || err.code === 'ENGINE_TIMEOUT') return;
    const bundleProblem = err.category === 'bundle';
    if (bundleProblem) onBundleProblem(err.message);
    const buttons = bundleProblem ? ['Select Another Bundle…', 'Show Output'] : ['Show Output'];
    const choice = await vscode.window.showErrorMessage(`SEER: ${text}`, ...buttons);
    if (choice === 'Show Output') log.show();
    if (choice === 'Select Another Bundle…') await vscode.commands.executeCommand('seer.selectBundle');
  };
}

/** A command handler whose failures are reported instead of thrown at VS Code. */
export function guarded<A extends unknown[]>(showError: ShowError, fn: (...a: A) => Promise<unknown>): (...a: A) => Promise<void> {
  return async (...a) => {
    try {
      await fn(...a);
    } catch (e) {
      await showError(e);
    }
  };
}
