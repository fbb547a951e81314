// The rules of "SEER: Import Hugging Face Model…" that need no VS Code, on real folders in a temp directory:
// the checkpoint-folder check (engine/src/importer.ts, also run by `seer import`), the refusal of an output
// inside the installed extension (symbolic links included), the bundle name, and what is already at the output.
import { promises as fs, mkdtempSync, symlinkSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFolderProblem, defaultPython } from '../../engine/src/importer';
import { bundleNameProblem, existingOutput, outputLocationProblem, pythonFromSetting, suggestedBundleName, suggestedOutputParent } from '../../extension/src/importChecks';

let tmp: string;
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'seer-import-checks-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

async function folder(name: string, files: string[]): Promise<string> {
  const dir = path.join(tmp, name);
  await fs.mkdir(dir, { recursive: true });
  for (const f of files) await fs.writeFile(path.join(dir, f), '{}');
  return dir;
}

describe('checkpointFolderProblem', () => {
  it('accepts config.json + model.safetensors + tokenizer.json, and sharded weights', async () => {
    expect(await checkpointFolderProblem(await folder('single', ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']))).toBeUndefined();
    const sharded = await folder('sharded', ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json', 'tokenizer.json']);
    expect(await checkpointFolderProblem(sharded)).toBeUndefined();
  });

  it('names every missing piece, and a slow tokenizer as such', async () => {
    const empty = await folder('empty', []);
    expect(await checkpointFolderProblem(empty)).toBe(
      `${empty} is not a Hugging Face checkpoint folder: it lacks config.json, the weights (*.safetensors, e.g. model.safetensors), tokenizer.json.`,
    );
    const slow = await folder('slow', ['config.json', 'model.safetensors', 'tokenizer.model']);
    expect(await checkpointFolderProblem(slow)).toMatch(/lacks tokenizer\.json \(it has only tokenizer\.model, a slow tokenizer; .*AutoTokenizer/);
    const pytorchBin = await folder('bin', ['config.json', 'pytorch_model.bin', 'tokenizer.json']);
    expect(await checkpointFolderProblem(pytorchBin)).toMatch(/lacks the weights \(\*\.safetensors/);
  });

  it('says when the path is a file or does not exist', async () => {
    const file = path.join(await folder('has-file', ['config.json']), 'config.json');
    expect(await checkpointFolderProblem(file)).toMatch(/is a file; choose the checkpoint folder/);
    expect(await checkpointFolderProblem(path.join(tmp, 'nowhere'))).toMatch(/does not exist or cannot be read/);
  });
});

describe('outputLocationProblem', () => {
  it('refuses the installed extension and anything inside it, says why, and allows its sibling folders', async () => {
    const ext = await folder('extensions/seer-vscode.seer-vscode-0.1.0', ['package.json']);
    expect(outputLocationProblem(ext, ext)).toMatch(/inside the installed SEER extension .*VS Code replaces when it updates/);
    expect(outputLocationProblem(path.join(ext, 'models', 'mine'), ext)).toMatch(/the bundle would be lost/);
    expect(outputLocationProblem(path.join(ext, 'not', 'yet', 'there'), ext)).toBeDefined();
    // a sibling whose name starts like the extension's, global storage and home are fine
    expect(outputLocationProblem(`${ext}-bundles`, ext)).toBeUndefined();
    expect(outputLocationProblem(path.join(tmp, 'globalStorage', 'seer-vscode.seer-vscode', 'bundle'), ext)).toBeUndefined();
    expect(outputLocationProblem(path.join(os.homedir(), 'bundles', 'llama'), ext)).toBeUndefined();
  });

  it('sees through a symbolic link into the extension', async () => {
    const ext = await folder('ext-linked', ['package.json']);
    const link = path.join(tmp, 'innocent-looking');
    symlinkSync(ext, link);
    expect(outputLocationProblem(path.join(link, 'bundle'), ext)).toMatch(/inside the installed SEER extension/);
  });
});

describe('the bundle name and what is at the output', () => {
  it('suggests <checkpoint>-seer and a parent outside the extension', () => {
    expect(suggestedBundleName('/models/Llama-3.2-1B-Instruct/')).toBe('Llama-3.2-1B-Instruct-seer');
    expect(suggestedOutputParent(['/ws/a', '/ws/b'], '/home/u')).toBe('/ws/a');
    expect(suggestedOutputParent([], '/home/u')).toBe('/home/u');
  });

  it('takes a folder name only', () => {
    expect(bundleNameProblem('llama-seer')).toBeUndefined();
    expect(bundleNameProblem('  ')).toMatch(/Give the bundle folder a name/);
    for (const bad of ['a/b', 'a\\b', '..', '.']) expect(bundleNameProblem(bad)).toMatch(/A folder name only/);
  });

  it('tells a replaceable bundle or empty folder from anything else', async () => {
    expect(await existingOutput(path.join(tmp, 'absent'))).toBe('none');
    expect(await existingOutput(await folder('old-bundle', ['seer.json', 'model.onnx']))).toBe('replaceable');
    expect(await existingOutput(await folder('empty-out', []))).toBe('replaceable');
    expect(await existingOutput(await folder('someone-elses', ['notes.txt']))).toBe('other');
    expect(await existingOutput(path.join(tmp, 'has-file', 'config.json'))).toBe('other');
  });
});

describe('the Python', () => {
  it('seer.pythonPath: empty means the default, ~ is expanded, a command name is kept', () => {
    expect(pythonFromSetting('', '/home/u')).toBeUndefined();
    expect(pythonFromSetting(undefined, '/home/u')).toBeUndefined();
    expect(pythonFromSetting('~/venv/bin/python', '/home/u')).toBe(path.join('/home/u', 'venv/bin/python'));
    expect(pythonFromSetting(' python3.11 ', '/home/u')).toBe('python3.11');
  });

  it('defaults to $SEER_PYTHON first', () => {
    expect(defaultPython({ SEER_PYTHON: '/opt/py/bin/python' })).toBe('/opt/py/bin/python');
    expect(defaultPython({})).toMatch(/^(\/usr\/bin\/python3|python3?)$/);
  });
});
