// The engine options every `seer` command shares (engine/src/cli/shared.ts): --provider, and --python /
// --torch-dtype, which apply to --provider torch only. Parsed as the commands parse them, without a model.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINE_OPTIONS, ENGINE_USAGE, engineConfigFromArgs, parseCommandArgs } from '../../engine/src/cli/shared';
import { SeerError } from '../../engine/src/errors';

/** argv → EngineConfig, through the same parser and options as `seer info`. */
const config = (...argv: string[]) => engineConfigFromArgs(parseCommandArgs(argv, ENGINE_OPTIONS, ENGINE_USAGE).values, ENGINE_USAGE);

function refusal(argv: string[]): SeerError {
  try {
    config(...argv);
  } catch (err) {
    expect(err).toBeInstanceOf(SeerError);
    return err as SeerError;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('engine options', () => {
  it('accepts torch, with no torch config unless --python or --torch-dtype is given', () => {
    expect(config('--provider', 'torch')).toEqual({ bundleDir: expect.any(String), provider: 'torch', intraOpThreads: undefined });
    expect(config('--provider', 'torch')).not.toHaveProperty('torch');
    expect(config('--provider', 'cpu', '--bundle', 'b')).toEqual({ bundleDir: path.resolve('b'), provider: 'cpu', intraOpThreads: undefined });
    expect(config()).toMatchObject({ provider: 'auto' });
    expect(config()).not.toHaveProperty('torch');
  });

  it('fills EngineConfig.torch from --python and --torch-dtype', () => {
    expect(config('--provider', 'torch', '--python', '/opt/venv/bin/python').torch).toEqual({ python: '/opt/venv/bin/python' });
    expect(config('--provider', 'torch', '--torch-dtype', 'bfloat16').torch).toEqual({ dtype: 'bfloat16' });
    expect(config('--provider', 'torch', '--python', 'python3.11', '--torch-dtype', 'float16').torch).toEqual({ python: 'python3.11', dtype: 'float16' });
    for (const dtype of ['auto', 'float32', 'bfloat16', 'float16']) expect(config('--provider', 'torch', '--torch-dtype', dtype).torch).toEqual({ dtype });
  });

  it('refuses an unknown provider, naming torch among the choices', () => {
    const e = refusal(['--provider', 'tpu']);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('--provider must be auto, cpu, cuda, webgpu or torch, got "tpu".');
  });

  it('refuses --python and --torch-dtype with any provider but torch', () => {
    for (const provider of ['cpu', 'cuda', 'webgpu']) {
      const e = refusal(['--provider', provider, '--torch-dtype', 'bfloat16']);
      expect(e.code).toBe('INVALID_ARGUMENT');
      expect(e.message).toBe(`--torch-dtype applies to --provider torch or auto only (the provider is ${provider}).`);
      expect(e.fixFor('cli')).toBe('Use --provider torch or auto, or leave out --torch-dtype.');
    }
    expect(refusal(['--provider', 'cpu', '--python', 'p', '--torch-dtype', 'auto']).message).toBe('--python and --torch-dtype apply to --provider torch or auto only (the provider is cpu).');
    // auto may choose torch for a large model: the flags are kept for it.
    expect(config('--python', '/usr/bin/python3', '--torch-dtype', 'float32').torch).toEqual({ python: '/usr/bin/python3', dtype: 'float32' });
  });

  it('refuses a --torch-dtype that is not one of the four, and an empty --python', () => {
    const e = refusal(['--provider', 'torch', '--torch-dtype', 'fp16']);
    expect(e.code).toBe('INVALID_ARGUMENT');
    expect(e.message).toBe('--torch-dtype must be auto or float32 or bfloat16 or float16, got "fp16".');
    expect(refusal(['--provider', 'torch', '--python', '']).message).toMatch(/--python must name a Python executable/);
  });

  it('documents both flags in the usage every engine command prints', () => {
    expect(ENGINE_USAGE).toMatch(/--provider P\s+auto \| cpu \| cuda \| webgpu \| torch/);
    expect(ENGINE_USAGE).toMatch(/--python PATH\s+for the torch provider/);
    expect(ENGINE_USAGE).toMatch(/--torch-dtype T\s+for the torch provider: auto \| float32 \| bfloat16 \| float16/);
  });
});
