// Explain File's editor flags: each prompt whose concept is in the risk set (setting seer.riskConcepts; empty:
// the bank's unsafe concepts) gets a gutter mark and an overview-ruler mark on each of its lines, and a hover. The
// flags of a file are replaced when it is explained again and dropped when it is closed.
import * as vscode from 'vscode';
import type { FileRow } from '../../common/protocol';

/** The concepts flagged: the user's list when set, else the concepts the bank does not call safe. */
export function riskConcepts(setting: readonly string[], concepts: readonly string[], safeConcepts: readonly string[]): Set<string> {
  const chosen = setting.map((c) => c.trim()).filter(Boolean);
  if (chosen.length) return new Set(chosen);
  // A bank without a safe list says nothing about safety: flag nothing rather than everything.
  return new Set(safeConcepts.length ? concepts.filter((c) => !safeConcepts.includes(c)) : []);
}

/** One flag per risky prompt: its 0-based first and last lines and hover text ("SEER: violence 87%"). */
export function riskFlags(rows: readonly FileRow[]): { line: number; lastLine: number; hover: string }[] {
  return rows.filter((r) => r.risk).map((r) => ({
    line: r.line - 1,
    lastLine: r.lastLine - 1,
    hover: `SEER: ${r.concept} ${Math.round(r.confidence * 100)}%${r.lowConfidence ? ' (low confidence)' : ''}`,
  }));
}

export class FileDecorations implements vscode.Disposable {
  private readonly type: vscode.TextEditorDecorationType;
  /** Document URI → its flags, re-applied whenever an editor shows it again. */
  private readonly flags = new Map<string, vscode.DecorationOptions[]>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor(extensionUri: vscode.Uri) {
    this.type = vscode.window.createTextEditorDecorationType({
      gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', 'seer.svg'),
      gutterIconSize: 'contain',
      overviewRulerColor: new vscode.ThemeColor('editorWarning.foreground'),
      overviewRulerLane: vscode.OverviewRulerLane.Right,
      isWholeLine: true,
    });
    this.disposables.push(
      this.type,
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.apply(e))),
      vscode.workspace.onDidCloseTextDocument((doc) => this.clear(doc.uri)),
    );
  }

  /** Replaces the flags of `uri` with those of `rows` (the whole table so far). */
  set(uri: vscode.Uri, rows: readonly FileRow[]): void {
    this.flags.set(uri.toString(), riskFlags(rows).map((f) => ({
      range: new vscode.Range(f.line, 0, f.lastLine, 0),
      hoverMessage: f.hover,
    })));
    for (const e of vscode.window.visibleTextEditors) if (e.document.uri.toString() === uri.toString()) this.apply(e);
  }

  clear(uri: vscode.Uri): void {
    this.flags.delete(uri.toString());
    for (const e of vscode.window.visibleTextEditors) if (e.document.uri.toString() === uri.toString()) e.setDecorations(this.type, []);
  }

  private apply(editor: vscode.TextEditor): void {
    const flags = this.flags.get(editor.document.uri.toString());
    if (flags) editor.setDecorations(this.type, flags);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }
}
