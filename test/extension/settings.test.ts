import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { explainOptions, parseLayerRange, resolveBundleDir, SettingsError } from '../../extension/src/settings';

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
  const base = { provider: 'auto', bank: '', representation: 'mean', layerRange: '', maxTokens: 0, heatmapScheme: 'diverging', requestTimeoutSeconds: 60 } as const;
  it('maps representation, layer range and max tokens', () => {
    expect(explainOptions(base)).toEqual({ pooling: 'mean', tokenLayers: 'all', topNextTokens: 5 });
    expect(explainOptions({ ...base, layerRange: ' 2 - 5 ', maxTokens: 256 })).toMatchObject({ layerRange: [2, 5], maxTokens: 256 });
    expect(explainOptions({ ...base, bank: ' topics ' }).bank).toBe('topics');
  });
  it('rejects malformed ranges with the fix', () => {
    expect(() => parseLayerRange('5-2')).toThrow(/must not exceed/);
    expect(() => parseLayerRange('all')).toThrow(/from-to/);
  });
});
