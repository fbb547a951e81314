// The recorded explanations and generations as a feature (the side bar's History, backed by the session file:
// historyStore.ts): each explain and generation is recorded, the view follows changes other windows make to the
// file, and the commands Rename Session, Delete Entry, Export Session (CSV or JSON) and Clear History. Reopening
// an entry belongs to the explain feature (explanations) and the generate feature (generations).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExplainOptions, ExplainResult } from '../../common/protocol';
import { type GenerationRun, SeerError, sessionToCsv, sessionToJson } from '../../engine/src/api';
import type { ShowError } from './errorReport';
import { saveSession } from './exporter';
import type { HistoryStore, RecordedGeneration } from './historyStore';
import type { SeerSidebar } from './sidebar';

export interface HistoryFeature extends vscode.Disposable {
  /** Records `result` in the session in the background; a failure is a warning (the result itself is fine). */
  record(result: ExplainResult, options?: ExplainOptions): void;
  /** Records a generation (with `shown`, the explanation it continued, cached for reopening), likewise in the background. */
  recordGeneration(run: GenerationRun, shown?: ExplainResult): void;
  get(id: string): Promise<ExplainResult | undefined>;
  /** Generation `id` to show again (from the cache, else from the session's trace); undefined when not in the session. */
  generation(id: string): Promise<RecordedGeneration | undefined>;
  /** The prompt of entry `id` as recorded (to explain it again when its result is no longer cached). */
  prompt(id: string): Promise<string | undefined>;
}

/** A History item's command argument: the entry id (its click) or the tree item itself (its context menu). */
type EntryArg = string | { id?: string } | undefined;
const entryId = (arg: EntryArg): string | undefined => (typeof arg === 'string' ? arg : arg?.id);
const isSessionProblem = (e: unknown): e is SeerError => e instanceof SeerError && e.code.startsWith('SESSION_');

export function registerHistory(deps: { store: HistoryStore; sidebar: SeerSidebar; log: vscode.LogOutputChannel; showError: ShowError }): HistoryFeature {
  const { store, sidebar, log, showError } = deps;
  const refresh = () => sidebar.refreshHistory();
  /** The session problem last shown: a damaged file is announced once, not at every explain. */
  let shownProblem: string | undefined;

  /** A session file problem (damaged, locked) as a warning that offers the file; anything else as any error. */
  const warnSession = async (e: unknown, what: string): Promise<void> => {
    if (!isSessionProblem(e)) return showError(e);
    log.warn(`${what}: ${e.message}`);
    const choice = await vscode.window.showWarningMessage(`SEER: ${what}. ${e.message} ${e.fixFor('editor') ?? ''}`, 'Open Session File');
    if (choice) await vscode.window.showTextDocument(vscode.Uri.file(store.sessionFile));
  };
  const sessionCommand = <A extends unknown[]>(what: string, fn: (...a: A) => Promise<void>) => async (...a: A): Promise<void> => {
    try {
      await fn(...a);
    } catch (e) {
      await warnSession(e, what);
    }
  };

  const rename = async () => {
    const session = await store.session();
    const name = await vscode.window.showInputBox({
      title: 'SEER: rename the session', value: session.name, prompt: `Saved in ${store.sessionFile}`,
      validateInput: (v) => (v.trim() === '' ? 'A session needs a name.' : undefined),
    });
    if (name === undefined) return;
    await store.rename(name);
    refresh();
  };

  const deleteEntry = async (arg: EntryArg) => {
    const id = entryId(arg);
    if (!id) return;
    await store.remove(id);
    refresh();
  };

  const exportSession = async () => {
    const session = await store.session();
    if (session.entries.length === 0) {
      void vscode.window.showInformationMessage('SEER: the session has no entries to export yet.');
      return;
    }
    const format = await vscode.window.showQuickPick(
      [{ label: 'CSV', description: 'one row per explanation or generation', format: 'csv' as const }, { label: 'JSON', description: 'the session as stored', format: 'json' as const }],
      { title: `SEER: export “${session.name}” (${session.entries.length} entries)` },
    );
    if (!format) return;
    const stem = session.name.replace(/[^\w.-]+/g, '_');
    await saveSession(`${stem}.${format.format}`, format.format, format.format === 'csv' ? sessionToCsv(session) : sessionToJson(session));
  };

  const clear = async () => {
    await store.clear();
    refresh();
  };

  // Another window (or a hand edit) changed the session file: show what is there now.
  const watcher = vscode.workspace.createFileSystemWatcher(
    new vscode.RelativePattern(vscode.Uri.file(path.dirname(store.sessionFile)), path.basename(store.sessionFile)));
  const disposables = [
    watcher, watcher.onDidChange(refresh), watcher.onDidCreate(refresh), watcher.onDidDelete(refresh),
    vscode.commands.registerCommand('seer.clearHistory', sessionCommand('the history was not cleared', clear)),
    vscode.commands.registerCommand('seer.renameSession', sessionCommand('the session was not renamed', rename)),
    vscode.commands.registerCommand('seer.deleteHistoryEntry', sessionCommand('the entry was not deleted', deleteEntry)),
    vscode.commands.registerCommand('seer.exportSession', sessionCommand('the session was not exported', exportSession)),
  ];
  /** Waits for `recording` in the background: a failure is a warning, once per distinct session problem. */
  const inBackground = (recording: Promise<unknown>, what: string): void => void recording.then(
    () => {
      shownProblem = undefined;
      refresh();
    },
    (e: Error) => {
      if (isSessionProblem(e) && e.message !== shownProblem) {
        shownProblem = e.message;
        void warnSession(e, `this ${what} was not recorded in the session`);
      } else log.warn(`${what} not recorded in the session: ${e.message}`);
      refresh();
    },
  );
  return {
    record: (result, options) => inBackground(store.add(result, options), 'explanation'),
    recordGeneration: (run, shown) => inBackground(store.addGeneration(run, shown), 'generation'),
    get: (id) => store.get(id),
    generation: (id) => store.generation(id),
    prompt: async (id) => (await store.entry(id))?.prompt,
    dispose: () => disposables.forEach((d) => d.dispose()),
  };
}
