// The model bundle and the engine process as a feature: the engine client (restarted after a crash, reloaded
// when the bundle, provider or workspace trust changes), the status bar and side-bar model status, and the
// commands Select SEER Model Bundle…, Restart Engine and Show Output.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { GenerationStepParams, LoadResult, ProgressParams } from '../../common/protocol';
import { cudaLibsEnv } from '../../engine/src/runtime/cudaSetup';
import { bundleLocation, cudaLibraryPath, engineProviderConfig, readSettings } from './config';
import { EngineClient, toEngineError } from './engineClient';
import { guarded, type ShowError } from './errorReport';
import { providerLabel, providerTooltip } from './providerText';
import { engineSettingChanged, explainOptions } from './settings';
import type { SeerSidebar } from './sidebar';

/** More crashes than this within a minute: stop restarting at once, wait for the next request. */
const MAX_QUICK_RESTARTS = 3;

/** The status bar item and the side bar's Model view: which bundle, on which provider, or what is wrong. */
export class ModelStatusView implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('seer.status', vscode.StatusBarAlignment.Right, 100);

  constructor(private readonly extensionPath: string, private readonly sidebar: SeerSidebar) {
    this.item.name = 'SEER model';
    this.item.command = 'seer.showOutput';
    this.show();
  }

  show(load?: LoadResult, error?: string): void {
    let where: ReturnType<typeof bundleLocation> | undefined;
    try {
      where = bundleLocation(this.extensionPath);
    } catch (e) {
      error ??= (e as Error).message;
    }
    this.sidebar.setStatus({ load, bundleDir: where?.dir ?? '', error, note: where?.ignored });
    this.item.text = load ? `$(symbol-misc) SEER: ${load.bundle.name} · ${providerLabel(load.provider)}` : '$(symbol-misc) SEER';
    this.item.tooltip = load
      ? `${load.bundle.name} (${load.bundle.architecture.numLayers} layers, ${load.bundle.concepts.length} concepts) on ${providerTooltip(load.provider)}`
      : error ?? 'SEER: the model loads at the first explain';
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}

export interface EngineFeature extends vscode.Disposable {
  readonly engine: EngineClient;
  /** Progress of long requests, by the progressToken they sent. */
  readonly progressListeners: Map<string, (p: ProgressParams) => void>;
  /** Each token of a generation, by the progressToken it sent. */
  readonly generationListeners: Map<string, (p: GenerationStepParams) => void>;
  /**
   * An engine of its own for another bundle (same provider, banks folder and environment), for a short job such
   * as Compare under a second bundle: the caller disposes it. The main engine keeps its bundle meanwhile.
   */
  engineFor(bundleDir: string): EngineClient;
}

export function registerEngine(deps: {
  context: vscode.ExtensionContext;
  log: vscode.LogOutputChannel;
  status: ModelStatusView;
  showError: ShowError;
}): EngineFeature {
  const { context, log, status, showError } = deps;
  const progressListeners = new Map<string, (p: ProgressParams) => void>();
  const generationListeners = new Map<string, (p: GenerationStepParams) => void>();
  const recentCrashes: number[] = [];
  /** How every engine process starts: `bundleDir` (default: the bundle setting) read at each (re)start. */
  const clientOptions = (bundleDir?: string) => ({
    serverPath: context.asAbsolutePath(path.join('dist', 'engine-server.js')),
    // Calibrated banks go to the extension's global storage, never into the installed extension's bundle.
    // The warm-up at load explains as the panel will (every layer's token scores), so a GPU provider prepares for it.
    config: () => ({ bundleDir: bundleDir ?? bundleLocation(context.extensionPath).dir, ...engineProviderConfig(), userBankDir: path.join(context.globalStorageUri.fsPath, 'banks'), warmUpWith: panelExplainOptions() }),
    requestTimeoutMs: readSettings().requestTimeoutSeconds * 1000,
    env: () => {
      const cudaLibs = cudaLibraryPath();
      return cudaLibs ? cudaLibsEnv(cudaLibs) : process.env;
    },
  });
  const engine: EngineClient = new EngineClient({
    ...clientOptions(),
    log: (l) => log.info(l),
    onLoaded: (r) => status.show(r),
    onProgress: (p) => progressListeners.get(p.token)?.(p),
    onGenerationStep: (p) => generationListeners.get(p.token)?.(p),
    onCrash: (reason) => {
      status.show(undefined, `engine stopped: ${reason}`);
      const now = Date.now();
      recentCrashes.push(now);
      while (recentCrashes.length && recentCrashes[0] < now - 60_000) recentCrashes.shift();
      // Restart at once if it had loaded a model, unless it keeps dying: else wait for the next request.
      const restart = engine.loaded !== undefined && recentCrashes.length <= MAX_QUICK_RESTARTS;
      if (restart) void engine.ensureLoaded().catch((e: unknown) => log.error(`restart failed: ${toEngineError(e).message}`));
      void vscode.window
        .showWarningMessage(`SEER: the engine stopped (${reason}). ${restart ? 'It was restarted.' : 'It restarts at the next request.'}`, 'Show Output')
        .then((b) => b && log.show());
    },
  });
  const reload = (why: string): void => {
    log.info(`${why}: the engine reloads at the next request`);
    void engine.reload().then(() => status.show());
  };

  const disposables = [
    vscode.commands.registerCommand('seer.selectBundle', guarded(showError, selectBundle)),
    vscode.commands.registerCommand('seer.restartEngine', guarded(showError, async () => {
      await engine.reload();
      await engine.ensureLoaded();
    })),
    vscode.commands.registerCommand('seer.showOutput', () => log.show()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (engineSettingChanged((section) => e.affectsConfiguration(section), readSettings().provider)) reload('bundle or provider setting changed');
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => reload('workspace trusted')),
  ];
  return {
    engine,
    progressListeners,
    generationListeners,
    engineFor: (bundleDir) => new EngineClient({ ...clientOptions(bundleDir), log: (l) => log.info(`[${path.basename(bundleDir)}] ${l}`) }),
    dispose: () => {
      disposables.forEach((d) => d.dispose());
      void engine.dispose();
    },
  };
}

async function selectBundle(): Promise<void> {
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true, canSelectFiles: false, canSelectMany: false,
    openLabel: 'Use This SEER Bundle', title: 'Select a SEER model bundle (a folder with seer.json)',
  });
  if (!picked?.[0]) return;
  await useBundle(picked[0].fsPath);
}

/** Makes `dir` the bundle used (the user's seer.bundlePath; the engine reloads), if it is a bundle folder. */
export async function useBundle(dir: string): Promise<void> {
  try {
    await vscode.workspace.fs.stat(vscode.Uri.joinPath(vscode.Uri.file(dir), 'seer.json'));
  } catch {
    void vscode.window.showErrorMessage(`SEER: ${dir} has no seer.json; pick the bundle folder itself (e.g. models/default).`);
    return;
  }
  await vscode.workspace.getConfiguration('seer').update('bundlePath', dir, vscode.ConfigurationTarget.Global);
}

/** The panel's explain options, or none while a setting is invalid (the explain itself reports it, with its fix). */
function panelExplainOptions() {
  try {
    return explainOptions(readSettings());
  } catch {
    return undefined;
  }
}
