import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineSettingChanged, explainOptions, parseLayerRange, providerConfig, resolveBundleDir, SettingsError } from '../../extension/src/settings';
import { providerLabel, providerTooltip, torchRuntimeText } from '../../extension/src/providerText';
import type { ProviderReport, TorchDtype } from '../../common/protocol';

const env = (trusted: boolean) => ({ trusted, extensionPath: '/ext', workspaceFolders: ['/ws'] });

describe('resolveBundleDir', () => {
  it('uses the bundled default model when nothing is set', () => {
    expect(resolveBundleDir({}, env(true))).toEqual({ dir: path.join('/ext', 'models', 'default'), origin: 'default', ignored: undefined });
  });

  it('uses a workspace bundle only in a trusted workspace', () => {
    expect(resolveBundleDir({ workspaceValue: 'models/mine' }, env(true))).toEqual({ dir: '/ws/models/mine', origin: 'workspace' });
    const untrusted = resolveBundleDir({ workspaceValue: 'models/mine' }, env(false));
    expect(untrusted.origin).toBe('default');
    expect(untrusted.ignored).toMatch(/ignored until you trust/);
  });

  it('prefers the folder value, expands ${workspaceFolder} and ~', () => {
    expect(resolveBundleDir({ workspaceValue: 'a', workspaceFolderValue: '${workspaceFolder}/b' }, env(true)).dir).toBe('/ws/b');
    expect(resolveBundleDir({ globalValue: '~/bundles/x' }, env(true)).dir).toBe(path.join(os.homedir(), 'bundles/x'));
  });

  it('ignores a user path inside an untrusted workspace, but not one outside it', () => {
    expect(resolveBundleDir({ globalValue: '/ws/evil' }, env(false)).origin).toBe('default');
    expect(resolveBundleDir({ globalValue: '/opt/seer' }, env(false))).toMatchObject({ dir: '/opt/seer', origin: 'user' });
  });

  it('explains a relative path with no folder open', () => {
    expect(() => resolveBundleDir({ globalValue: 'rel' }, { trusted: true, extensionPath: '/ext', workspaceFolders: [] })).toThrow(SettingsError);
  });
});

describe('explain options from settings', () => {
  const base = { provider: 'auto', torchDtype: 'auto', bank: '', representation: 'mean', layerRange: '', maxTokens: 0, heatmapScheme: 'diverging', requestTimeoutSeconds: 60 } as const;
  it('maps representation, layer range and max tokens', () => {
    expect(explainOptions(base)).toEqual({ pooling: 'mean', tokenLayers: 'all', topNextTokens: 5 });
    expect(explainOptions({ ...base, layerRange: ' 2 - 5 ', maxTokens: 256 })).toMatchObject({ layerRange: [2, 5], maxTokens: 256 });
    expect(explainOptions({ ...base, bank: ' topics ' }).bank).toBe('topics');
  });
  it('leaves the pooling to the bank by default (a mean- or request-end-calibrated bundle is read as calibrated)', () => {
    expect(explainOptions({ ...base, representation: 'bank' })).toEqual({ tokenLayers: 'all', topNextTokens: 5 });
  });
  it('rejects malformed ranges with the fix', () => {
    expect(() => parseLayerRange('5-2')).toThrow(/must not exceed/);
    expect(() => parseLayerRange('all')).toThrow(/from-to/);
  });
});

describe('the provider settings for the engine', () => {
  it('passes seer.pythonPath and seer.torchDtype only for the torch provider and auto (which may choose it)', () => {
    expect(providerConfig({ provider: 'cuda', torchDtype: 'bfloat16' }, '/opt/venv/bin/python')).toEqual({ provider: 'cuda' });
    expect(providerConfig({ provider: 'auto', torchDtype: 'auto' }, undefined)).toEqual({ provider: 'auto', torch: { dtype: 'auto' } });
    expect(providerConfig({ provider: 'auto', torchDtype: 'float32' }, '/p')).toEqual({ provider: 'auto', torch: { python: '/p', dtype: 'float32' } });
    expect(providerConfig({ provider: 'torch', torchDtype: 'bfloat16' }, '/opt/venv/bin/python'))
      .toEqual({ provider: 'torch', torch: { python: '/opt/venv/bin/python', dtype: 'bfloat16' } });
    // No seer.pythonPath: the engine's default Python.
    expect(providerConfig({ provider: 'torch', torchDtype: 'auto' }, undefined)).toEqual({ provider: 'torch', torch: { dtype: 'auto' } });
  });

  it('refuses a seer.torchDtype that is not one of the enum (settings.json is not checked by VS Code)', () => {
    expect(() => providerConfig({ provider: 'torch', torchDtype: 'fp8' as TorchDtype }, undefined)).toThrow(SettingsError);
    expect(() => providerConfig({ provider: 'torch', torchDtype: 'fp8' as TorchDtype }, undefined)).toThrow(/seer\.torchDtype "fp8"/);
    expect(providerConfig({ provider: 'cpu', torchDtype: 'fp8' as TorchDtype }, undefined)).toEqual({ provider: 'cpu' }); // unused
  });

  it('reloads the engine for seer.torchDtype and seer.pythonPath only while the provider is torch or auto', () => {
    const changed = (...sections: string[]) => (s: string) => sections.includes(s);
    for (const s of ['seer.torchDtype', 'seer.pythonPath']) {
      expect(engineSettingChanged(changed(s), 'torch'), s).toBe(true);
      expect(engineSettingChanged(changed(s), 'auto'), s).toBe(true);
      expect(engineSettingChanged(changed(s), 'cuda'), s).toBe(false);
    }
    expect(engineSettingChanged(changed('seer.executionProvider'), 'cpu')).toBe(true);
    expect(engineSettingChanged(changed('seer.bundlePath'), 'torch')).toBe(true);
    expect(engineSettingChanged(changed('seer.heatmapScheme'), 'torch')).toBe(false);
  });
});

describe('the provider report in words', () => {
  const report: ProviderReport = { used: 'cuda', requested: 'auto', attempts: [{ provider: 'cuda', ok: true }] };
  const torch: ProviderReport = {
    used: 'torch', requested: 'torch', attempts: [{ provider: 'torch', ok: true }],
    torch: { python: '/usr/bin/python3', torchVersion: '2.5.1', device: 'cuda:0 (NVIDIA H200)', dtype: 'bfloat16' },
  };
  it('is the provider alone without a torch runtime', () => {
    expect(providerLabel(report)).toBe('cuda');
    expect(providerTooltip(report)).toBe('cuda');
  });
  it('shows the torch device and compute type', () => {
    expect(torchRuntimeText(torch.torch!)).toBe('cuda:0 (NVIDIA H200), bfloat16');
    expect(providerLabel(torch)).toBe('torch cuda:0');
    expect(providerTooltip(torch)).toBe('torch (PyTorch 2.5.1 in /usr/bin/python3, on cuda:0 (NVIDIA H200), bfloat16)');
    expect(providerLabel({ ...torch, torch: { ...torch.torch!, device: 'cpu', dtype: 'float32' } })).toBe('torch cpu');
  });
});
