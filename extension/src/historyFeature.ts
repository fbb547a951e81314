// The history of explained prompts as a feature: results are recorded after each explain (the side bar
// lists them) and "Clear History" empties it. Reopening an entry belongs to the explain feature.
import * as vscode from 'vscode';
import type { ExplainResult } from '../../common/protocol';
import { guarded, type ShowError } from './errorReport';
import type { HistoryStore } from './historyStore';
import type { SeerSidebar } from './sidebar';

export interface HistoryFeature extends vscode.Disposable {
  /** Saves `result` in the background; a failure is logged, never shown (the result itself is fine). */
  record(result: ExplainResult): void;
  get(id: string): Promise<ExplainResult | undefined>;
}

export function registerHistory(deps: { store: HistoryStore; sidebar: SeerSidebar; log: vscode.LogOutputChannel; showError: ShowError }): HistoryFeature {
  const { store, sidebar, log, showError } = deps;
  const command = vscode.commands.registerCommand('seer.clearHistory', guarded(showError, async () => {
    await store.clear();
    sidebar.refreshHistory();
  }));
  return {
    record: (result) => void store.add(result).then(() => sidebar.refreshHistory(), (e: Error) => log.warn(`history not saved: ${e.message}`)),
    get: (id) => store.get(id),
    dispose: () => command.dispose(),
  };
}
