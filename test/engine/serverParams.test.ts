// seer/load's params as the engine server checks them (engine/src/serverParams.ts), without a server: the torch
// provider and its optional `torch: { python, dtype }`.
import { describe, expect, it } from 'vitest';
import { checkParams } from '../../engine/src/serverParams';
import { SeerError } from '../../engine/src/errors';
import { LIMITS } from '../../engine/src/limits';

const load = (params: unknown) => checkParams.load(params, 'params');

function refusal(params: unknown): SeerError {
  try {
    load(params);
  } catch (err) {
    expect(err).toBeInstanceOf(SeerError);
    expect((err as SeerError).code).toBe('INVALID_ARGUMENT');
    return err as SeerError;
  }
  throw new Error(`${JSON.stringify(params)} was accepted`);
}

describe('seer/load params', () => {
  it('accepts the torch provider with or without its config', () => {
    expect(load({ bundleDir: '/b', provider: 'torch' })).toEqual({ bundleDir: '/b', provider: 'torch' });
    expect(load({ bundleDir: '/b', provider: 'torch', torch: {} })).toEqual({ bundleDir: '/b', provider: 'torch', torch: {} });
    expect(load({ bundleDir: '/b', provider: 'torch', torch: { python: '/opt/venv/bin/python', dtype: 'bfloat16' } }))
      .toEqual({ bundleDir: '/b', provider: 'torch', torch: { python: '/opt/venv/bin/python', dtype: 'bfloat16' } });
    for (const dtype of ['auto', 'float32', 'bfloat16', 'float16']) expect(load({ bundleDir: '/b', provider: 'torch', torch: { dtype } }).torch).toEqual({ dtype });
  });

  it('still accepts the other providers, and names torch among the choices when the provider is unknown', () => {
    for (const provider of ['auto', 'cpu', 'cuda', 'webgpu']) expect(load({ bundleDir: '/b', provider }).provider).toBe(provider);
    expect(refusal({ bundleDir: '/b', provider: 'tpu' }).message).toBe('params.provider must be one of "auto", "cpu", "cuda", "webgpu", "torch", got "tpu".');
  });

  it.each([
    [{ torch: 'python3' }, 'params.torch must be an object, got "python3".'],
    [{ torch: { dtype: 'fp16' } }, 'params.torch.dtype must be one of "auto", "float32", "bfloat16", "float16", got "fp16".'],
    [{ torch: { python: '' } }, 'params.torch.python must be a non-empty string, got "".'],
    [{ torch: { python: 3 } }, 'params.torch.python must be a non-empty string, got 3.'],
    [{ torch: { pyhton: '/usr/bin/python3' } }, 'params.torch has an unknown field "pyhton".'],
  ])('refuses torch %j', (extra, message) => {
    expect(refusal({ bundleDir: '/b', provider: 'torch', ...extra }).message).toBe(message);
  });

  it('takes the warm-up\'s explain options, checked as an explain\'s', () => {
    const warmUpWith = { pooling: 'last', tokenLayers: 'all', topNextTokens: 5, maxTokens: 256 };
    expect(load({ bundleDir: '/b', provider: 'torch', warmUpWith }).warmUpWith).toEqual(warmUpWith);
    expect(refusal({ bundleDir: '/b', provider: 'torch', warmUpWith: { tokenLayers: 'most' } }).message).toMatch(/^params\.warmUpWith\.tokenLayers /);
    expect(refusal({ bundleDir: '/b', provider: 'torch', warmUpWith: { steer: 1 } }).message).toBe('params.warmUpWith has an unknown field "steer".');
  });

  it('bounds the length of torch.python', () => {
    expect(refusal({ bundleDir: '/b', provider: 'torch', torch: { python: 'p'.repeat(LIMITS.nameChars + 1) } }).message).toContain(`the limit is ${LIMITS.nameChars}`);
  });
});
