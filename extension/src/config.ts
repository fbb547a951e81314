// The user's `seer.*` settings as read from VS Code (the pure rules they feed live in settings.ts).
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { EngineConfig } from '../../common/protocol';
import { pythonFromSetting } from './importChecks';
import { providerConfig, resolveBundleDir, type BundleLocation, type SeerSettings } from './settings';

export function readSettings(): SeerSettings {
  const c = vscode.workspace.getConfiguration('seer');
  return {
    provider: c.get('executionProvider', 'auto'),
    torchDtype: c.get('torchDtype', 'auto'),
    bank: c.get('bank', ''),
    representation: c.get('representation', 'bank'),
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

/**
 * seer.cudaLibraryPath (`~` expanded), or undefined when empty. A user setting only: the folder's native
 * libraries are loaded into the engine, so a workspace cannot choose it (see engine/src/runtime/cudaSetup.ts).
 */
export function cudaLibraryPath(): string | undefined {
  const value = vscode.workspace.getConfiguration('seer').inspect<string>('cudaLibraryPath')?.globalValue?.trim();
  if (!value) return undefined;
  return value === '~' || value.startsWith('~/') ? path.join(os.homedir(), value.slice(1)) : value;
}

/** seer.executionProvider for the engine, with seer.pythonPath and seer.torchDtype when it is torch. */
export function engineProviderConfig(): Pick<EngineConfig, 'provider' | 'torch'> {
  return providerConfig(readSettings(), pythonFromSetting(vscode.workspace.getConfiguration('seer').get<string>('pythonPath')));
}
