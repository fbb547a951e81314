// Settings → engine configuration. Pure functions (no vscode import) so the trust rules are unit-tested.
import * as os from 'node:os';
import * as path from 'node:path';
import { type EngineConfig, type ExplainOptions, type HeatmapScheme, type Pooling, type ProviderChoice, TORCH_DTYPES, type TorchDtype } from '../../common/protocol';

export interface SeerSettings {
  provider: ProviderChoice;
  /** seer.torchDtype: the compute type of the torch provider (provider torch, or auto when it chooses torch). */
  torchDtype: TorchDtype;
  /** Concept bank name; empty: the bundle's default bank. */
  bank: string;
  /** seer.representation: a pooling, or "bank": the one the concept bank was calibrated with (the engine's default). */
  representation: Pooling | 'bank';
  /** "from-to", inclusive, or empty for all layers. */
  layerRange: string;
  /** 0: the model's context. */
  maxTokens: number;
  heatmapScheme: HeatmapScheme;
  requestTimeoutSeconds: number;
}

/** seer.bundlePath as VS Code's `inspect` reports it, one value per scope. */
export interface BundlePathScopes {
  globalValue?: string;
  workspaceValue?: string;
  workspaceFolderValue?: string;
}

export interface BundleLocation {
  dir: string;
  origin: 'default' | 'user' | 'workspace';
}

export class SettingsError extends Error {}

/**
 * Where the model bundle comes from. A workspace can name a bundle only when it is trusted (a bundle
 * is code-like: the engine parses its files and runs its model); in an untrusted workspace the
 * workspace value is ignored, and so is a user value pointing inside the workspace.
 */
export function resolveBundleDir(
  scopes: BundlePathScopes,
  env: { trusted: boolean; extensionPath: string; workspaceFolders: string[] },
): BundleLocation & { ignored?: string } {
  const defaultDir = path.join(env.extensionPath, 'models', 'default');
  const ws = (scopes.workspaceFolderValue ?? scopes.workspaceValue)?.trim();
  const user = scopes.globalValue?.trim();
  let ignored: string | undefined;
  if (ws) {
    if (env.trusted) return { dir: expand(ws, env.workspaceFolders), origin: 'workspace' };
    ignored = `the workspace's seer.bundlePath (${ws}) is ignored until you trust this workspace`;
  }
  if (user) {
    const dir = expand(user, env.workspaceFolders);
    if (env.trusted || !env.workspaceFolders.some((f) => isInside(dir, f))) return { dir, origin: 'user', ignored };
    ignored = `the bundle ${dir} lies inside this untrusted workspace and is ignored until you trust it`;
  }
  return { dir: defaultDir, origin: 'default', ignored };
}

function expand(p: string, folders: string[]): string {
  let out = p.replace(/\$\{workspaceFolder\}/g, folders[0] ?? '');
  if (out === '~' || out.startsWith('~/')) out = path.join(os.homedir(), out.slice(1));
  if (!path.isAbsolute(out)) {
    if (!folders[0]) throw new SettingsError(`seer.bundlePath "${p}" is relative but no folder is open; use an absolute path.`);
    out = path.join(folders[0], out);
  }
  return path.normalize(out);
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export function parseLayerRange(text: string): [number, number] | undefined {
  const t = text.trim();
  if (!t) return undefined;
  const m = /^(\d+)\s*-\s*(\d+)$/.exec(t);
  if (!m) throw new SettingsError(`seer.layerRange "${text}" is not "from-to" (e.g. "2-6"); clear it to score every layer.`);
  const [a, b] = [Number(m[1]), Number(m[2])];
  if (a > b) throw new SettingsError(`seer.layerRange "${text}": the first layer must not exceed the last.`);
  return [a, b];
}

export function explainOptions(s: SeerSettings): ExplainOptions {
  const options: ExplainOptions = { tokenLayers: 'all', topNextTokens: 5 };
  if (s.representation !== 'bank') options.pooling = s.representation;
  const range = parseLayerRange(s.layerRange);
  if (range) options.layerRange = range;
  if (s.maxTokens > 0) options.maxTokens = s.maxTokens;
  if (s.bank.trim()) options.bank = s.bank.trim();
  return options;
}

/**
 * The engine's provider part of its config: seer.executionProvider and, for torch (or auto, which may choose it), the Python
 * (seer.pythonPath through pythonFromSetting; undefined: the engine's default) and seer.torchDtype.
 */
export function providerConfig(s: Pick<SeerSettings, 'provider' | 'torchDtype'>, python: string | undefined): Pick<EngineConfig, 'provider' | 'torch'> {
  if (s.provider !== 'torch' && s.provider !== 'auto') return { provider: s.provider };
  if (!TORCH_DTYPES.includes(s.torchDtype)) {
    throw new SettingsError(`seer.torchDtype "${String(s.torchDtype)}" is not one of ${TORCH_DTYPES.join(', ')}; clear it for auto.`);
  }
  return { provider: s.provider, torch: { ...(python ? { python } : {}), dtype: s.torchDtype } };
}

/** Settings whose change reloads the engine; the torch ones only while seer.executionProvider is torch or auto. */
export const ENGINE_SETTINGS = ['seer.bundlePath', 'seer.executionProvider', 'seer.cudaLibraryPath'] as const;
export const TORCH_SETTINGS = ['seer.torchDtype', 'seer.pythonPath'] as const;

/** Whether a configuration change (VS Code's `affectsConfiguration`) must reload the engine running `provider`. */
export function engineSettingChanged(affects: (section: string) => boolean, provider: ProviderChoice): boolean {
  return ENGINE_SETTINGS.some(affects) || ((provider === 'torch' || provider === 'auto') && TORCH_SETTINGS.some(affects));
}
