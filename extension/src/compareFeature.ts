// Compare as a feature: History entries side by side (select two to MAX_COMPARE_SIDES in the side bar →
// Compare, or two with "SEER: Compare with…" from the palette), or the editor's prompt under the current bundle and a second one
// ("SEER: Compare Selection with Baseline Bundle…", e.g. SEER vs its baseline twin). The comparison itself is
// engine/src/compare.ts (the same as `seer compare`); the panel's compare view draws it. The main engine keeps
// its bundle: the second bundle gets an engine process of its own for the one explain, then it is shut down.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CancellationToken as RpcToken } from 'vscode-jsonrpc/node';
import type { ExplainOptions, ExplainResult } from '../../common/protocol';
import { compareResults, type ExplainEntry, isGenerationEntry, MAX_COMPARE_SIDES } from '../../engine/src/api';
import { bundleLocation, readSettings } from './config';
import { EngineError, toEngineError, type EngineClient } from './engineClient';
import type { EngineFeature } from './engineFeature';
import { guarded, type ShowError } from './errorReport';
import type { HistoryFeature } from './historyFeature';
import type { HistoryStore } from './historyStore';
import { recordMetric } from './metrics';
import type { PanelFeature } from './panelFeature';
import { pickPrompt, PromptError } from './promptText';
import { explainOptions } from './settings';

/** A History item's command argument: the tree item (its context menu) or the entry id. */
type EntryArg = string | { id?: string } | undefined;
const entryId = (arg: EntryArg): string | undefined => (typeof arg === 'string' ? arg : arg?.id);
const PREVIEW_CHARS = 80;

export function registerCompare(deps: {
  engines: Pick<EngineFeature, 'engine' | 'engineFor'>;
  panel: PanelFeature;
  history: Pick<HistoryFeature, 'get' | 'record'>;
  store: Pick<HistoryStore, 'session'>;
  extensionPath: string;
  log: vscode.LogOutputChannel;
  showError: ShowError;
}): vscode.Disposable {
  const { engines, panel, history, store, log, showError } = deps;
  const currentBundle = (): string => path.resolve(bundleLocation(deps.extensionPath).dir);

  const explainUnder = (bundleDir: string, text: string, options: ExplainOptions, token: vscode.CancellationToken): Promise<ExplainResult> =>
    explainUnderBundle(engines, currentBundle(), bundleDir, text, options, token as unknown as RpcToken);

  /** Compares A with the others (explained by `explainAll`, with a cancellable progress) in the panel; logs and times it. */
  const compare = async (title: string, explainAll: (token: vscode.CancellationToken) => Promise<ExplainResult[]>): Promise<void> => {
    const started = performance.now();
    panel.show().showBusy(`${title}…`);
    const results = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `SEER: ${title.toLowerCase()}`, cancellable: true },
      (_progress, token) => explainAll(token),
    );
    const engineMs = performance.now() - started;
    const comparison = compareResults(results[0], ...results.slice(1));
    const renderMs = await panel.showComparison(comparison);
    log.info(`compared ${results.map((r) => `${r.headline.concept} (${r.bundle.name})`).join(' with ')}: ` +
      `explain ${engineMs.toFixed(0)} ms, render ${renderMs.toFixed(0)} ms`);
    recordMetric('compare', { engineMs, renderMs, sides: results.length, layers: comparison.layers.length, concepts: comparison.concepts.length });
  };

  /** A History entry's result: cached, or its prompt explained again under the bundle it was explained with. */
  const entryResult = async (entry: ExplainEntry, token: vscode.CancellationToken): Promise<ExplainResult> =>
    (await history.get(entry.id)) ?? explainUnder(entry.bundle.dir, entry.prompt, explainOptions(readSettings()), token);

  /** The session's explanations (generations are not compared), oldest first. */
  const explanations = async (): Promise<ExplainEntry[]> =>
    (await store.session()).entries.filter((e): e is ExplainEntry => !isGenerationEntry(e));

  const entryItems = (entries: ExplainEntry[]) => [...entries].reverse().map((e) => ({
    label: oneLine(e.prompt),
    description: `${e.summary.concept} ${(e.summary.confidence * 100).toFixed(0)}% · ${e.bundle.name}`,
    detail: new Date(e.createdAt).toLocaleString(),
    entry: e,
  }));

  const compareEntries = async (chosen: ExplainEntry[]): Promise<void> => {
    const { sides, note } = comparedEntries(chosen);
    if (note) void vscode.window.showInformationMessage(`SEER: ${note}`);
    const title = sides.length === 2 ? 'Comparing two History entries' : `Comparing ${sides.length} History entries`;
    await compare(title, async (token) => {
      const results: ExplainResult[] = [];
      for (const e of sides) results.push(await entryResult(e, token));
      return results;
    });
  };

  /** The side bar's Compare: the selected entries, or the clicked one with a second picked from the session. */
  const compareHistoryEntries = async (clicked?: EntryArg, selected?: EntryArg[]): Promise<void> => {
    const entries = await explanations();
    const ids = [...new Set((selected?.length ? selected : [clicked]).map(entryId).filter((id): id is string => id !== undefined))];
    const chosen = ids.map((id) => entries.find((e) => e.id === id));
    if (chosen.some((e) => e === undefined)) throw new PromptError('Compare takes explanations that are still in the session (not generations).');
    const found = chosen as ExplainEntry[];
    if (found.length >= 2) return compareEntries(found);
    return compareWith(found[0], entries);
  };

  /** "SEER: Compare with…": A (unless given) and B picked from the session's explanations. */
  const compareWith = async (given?: ExplainEntry, known?: ExplainEntry[]): Promise<void> => {
    const entries = known ?? (await explanations());
    if (entries.length < 2) {
      void vscode.window.showInformationMessage('SEER: Compare needs two explanations in the session: explain two prompts first (Ctrl+Alt+E).');
      return;
    }
    const a = given ?? (await vscode.window.showQuickPick(entryItems(entries), {
      title: 'SEER: compare — pick the first explanation (A)', matchOnDescription: true, placeHolder: 'Type to filter the session’s explanations',
    }))?.entry;
    if (!a) return;
    // One other, so a click picks it (a multi-pick's click only ticks): more than two sides come from History's multi-select.
    const b = (await vscode.window.showQuickPick(entryItems(entries.filter((e) => e.id !== a.id)), {
      title: `SEER: compare “${oneLine(a.prompt, 40)}” with…`, matchOnDescription: true, placeHolder: 'Type to filter the session’s explanations',
    }))?.entry;
    if (b) await compareEntries([a, b]);
  };

  /** The editor's prompt under the current bundle (A) and a second bundle (B). */
  const compareSelectionWithBundle = async (): Promise<void> => {
    const editor = vscode.window.activeTextEditor;
    if (!editor) {
      void vscode.window.showWarningMessage('SEER: open a text editor and select a prompt first.');
      return;
    }
    const doc = editor.document;
    const lines = Array.from({ length: doc.lineCount }, (_, i) => doc.lineAt(i).text);
    const { text } = pickPrompt(doc.getText(editor.selection), lines, editor.selection.active.line);
    const other = await pickOtherBundle(currentBundle());
    if (!other) return;
    const options = explainOptions(readSettings());
    await compare(`Comparing under ${path.basename(currentBundle())} and ${path.basename(other)}`, async (token) => {
      const a = await explainUnder(currentBundle(), text, options, token);
      const b = await explainUnder(other, text, options, token);
      // Both are explanations like any other: recorded in the session.
      history.record(a, options);
      history.record(b, options);
      return [a, b];
    });
  };

  const disposables = [
    vscode.commands.registerCommand('seer.compareHistoryEntries', guarded(showError, compareHistoryEntries)),
    vscode.commands.registerCommand('seer.compareWith', guarded(showError, () => compareWith())),
    vscode.commands.registerCommand('seer.compareSelectionWithBundle', guarded(showError, compareSelectionWithBundle)),
  ];
  return { dispose: () => disposables.forEach((d) => d.dispose()) };
}

/**
 * The History entries a Compare shows, oldest first (A is the earliest, so the view reads as "what changed
 * since"): the first MAX_COMPARE_SIDES selected, with a note saying so when more were selected.
 */
export function comparedEntries(selected: ExplainEntry[]): { sides: ExplainEntry[]; note?: string } {
  const kept = selected.slice(0, MAX_COMPARE_SIDES);
  const sides = [...kept].sort((x, y) => Date.parse(x.createdAt) - Date.parse(y.createdAt));
  if (kept.length === selected.length) return { sides };
  return { sides, note: `${selected.length} entries were selected; Compare shows at most ${MAX_COMPARE_SIDES}, so the first ${MAX_COMPARE_SIDES} selected are compared.` };
}

/**
 * Explains `text` under `bundleDir`: with the main engine when that is its bundle (`current`), else with a
 * short-lived engine of its own, shut down after the one explain. A failure there is said as that bundle's (the
 * status bar and "Select Another Bundle…" belong to the main bundle, so it is not reported as a bundle problem).
 */
export async function explainUnderBundle(
  engines: Pick<EngineFeature, 'engine' | 'engineFor'>, current: string, bundleDir: string, text: string, options: ExplainOptions, token?: RpcToken,
): Promise<ExplainResult> {
  if (path.resolve(bundleDir) === path.resolve(current)) return engines.engine.explain(text, options, token);
  const other: EngineClient = engines.engineFor(bundleDir);
  try {
    return await other.explain(text, options, token);
  } catch (e) {
    const err = toEngineError(e);
    if (err.quiet) throw err;
    throw new EngineError(`Under the bundle ${bundleDir}: ${err.message}`, err.category === 'bundle' ? 'ENGINE_ERROR' : err.code, err.file, err.fix);
  } finally {
    await other.dispose();
  }
}

/**
 * The second bundle: the bundles beside the current one (models/default's twin models/baseline), or any folder
 * with a seer.json (as "Select SEER Model Bundle…" picks one). Undefined when the user cancels.
 */
async function pickOtherBundle(current: string): Promise<string | undefined> {
  const siblings = await bundlesIn(path.dirname(current));
  const browse = { label: '$(folder-opened) Browse for a bundle folder…', dir: undefined as string | undefined };
  const items = [
    ...siblings.filter((b) => b.dir !== current).map((b) => ({ label: b.name, description: b.dir, dir: b.dir as string | undefined })),
    browse,
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `SEER: compare under ${path.basename(current)} (A) and which bundle (B)?` });
  if (!picked) return undefined;
  if (picked.dir) return picked.dir;
  const folder = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
    openLabel: 'Compare Under This Bundle', title: 'Select the second SEER model bundle (a folder with seer.json)',
  });
  const dir = folder?.[0]?.fsPath;
  if (!dir) return undefined;
  if (!(await readBundleName(dir))) throw new PromptError(`${dir} has no seer.json; pick the bundle folder itself (e.g. models/baseline).`);
  return path.resolve(dir);
}

/** The bundle folders directly inside `parent`, by their manifest name. */
export async function bundlesIn(parent: string): Promise<Array<{ name: string; dir: string }>> {
  const names = await fs.readdir(parent).catch(() => [] as string[]);
  const found = await Promise.all(names.map(async (n) => {
    const dir = path.join(parent, n);
    const name = await readBundleName(dir);
    return name === undefined ? [] : [{ name, dir }];
  }));
  return found.flat();
}

/** The manifest's name, or undefined when `dir` has no readable seer.json. */
async function readBundleName(dir: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'seer.json'), 'utf8')) as { name?: unknown };
    return typeof manifest.name === 'string' ? manifest.name : path.basename(dir);
  } catch {
    return undefined;
  }
}

function oneLine(text: string, chars = PREVIEW_CHARS): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars - 1)}…` : flat || '(empty)';
}
