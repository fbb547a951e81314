// Saving what the panel exports: the webview cannot touch files, so it posts the data and the
// host asks where to save it and writes it atomically.
import * as vscode from 'vscode';
import type { ChartId, ExplainResult } from '../../common/protocol';
import { writeFileAtomic } from '../../engine/src/api';
import { resultToCsv, resultToJson } from './resultExport';

function defaultUri(name: string): vscode.Uri | undefined {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  return folder ? vscode.Uri.joinPath(folder, name) : undefined;
}

const stem = (r?: ExplainResult): string => (r ? `seer-${r.headline.concept}-${r.id.slice(0, 8)}` : 'seer').replace(/[^\w.-]+/g, '_');

async function save(name: string, filters: Record<string, string[]>, data: string | Uint8Array): Promise<void> {
  const uri = await vscode.window.showSaveDialog({ defaultUri: defaultUri(name), filters, saveLabel: 'Export' });
  if (!uri) return;
  if (uri.scheme === 'file') await writeFileAtomic(uri.fsPath, data);
  else await vscode.workspace.fs.writeFile(uri, typeof data === 'string' ? Buffer.from(data) : data);
  void vscode.window.showInformationMessage(`SEER: saved ${uri.fsPath || uri.toString()}`);
}

export function saveChart(chart: ChartId, format: 'svg' | 'png', data: string, result?: ExplainResult): Promise<void> {
  const name = `${stem(result)}-${chart}.${format}`;
  if (format === 'svg') return save(name, { 'SVG image': ['svg'] }, data);
  const bytes = Buffer.from(data.slice(data.indexOf(',') + 1), 'base64');
  return save(name, { 'PNG image': ['png'] }, bytes);
}

/** A session export (engine/src/sessions/sessionFile.ts made `data`), saved where the user picks. */
export function saveSession(name: string, format: 'json' | 'csv', data: string): Promise<void> {
  return save(name, format === 'json' ? { JSON: ['json'] } : { CSV: ['csv'] }, data);
}

/** Explain File's table as CSV (extension/src/resultExport.ts made `data`). */
export function saveTable(name: string, data: string): Promise<void> {
  return save(name, { CSV: ['csv'] }, data);
}

export function saveResult(result: ExplainResult, format: 'json' | 'csv'): Promise<void> {
  const name = `${stem(result)}.${format}`;
  return format === 'json'
    ? save(name, { JSON: ['json'] }, resultToJson(result))
    : save(name, { CSV: ['csv'] }, resultToCsv(result));
}
