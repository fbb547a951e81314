// The user's `seer.*` settings as read from VS Code (the pure rules they feed live in settings.ts).
import * as vscode from 'vscode';
import { resolveBundleDir, type BundleLocation, type SeerSettings } from './settings';

export function readSettings(): SeerSettings {
  const c = vscode.workspace.getConfiguration('seer');
  return {
    provider: c.get('executionProvider', 'auto'),
    bank: c.get('bank', ''),
    representation: c.get('representation', 'last'),
    layerRange: c.get('layerRange', ''),
    maxTokens: c.get('maxTokens', 0),
    heatmapScheme: c.get('heatmapScheme', 'diverging'),
    requestTimeoutSeconds: c.get('requestTimeoutSeconds', 120),
  };
}

/** Where the bundle comes from, with workspace trust applied (see resolveBundleDir). */
export function bundleLocation(extensionPath: string): BundleLocation & { ignored?: string } {
  const inspected = vscode.workspace.getConfiguration('seer').inspect<string>('bundlePath');
  return resolveBundleDir(
    { globalValue: inspected?.globalValue, workspaceValue: inspected?.workspaceValue, workspaceFolderValue: inspected?.workspaceFolderValue },
    {
      trusted: vscode.workspace.isTrusted,
      extensionPath,
      workspaceFolders: (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath),
    },
  );
}
