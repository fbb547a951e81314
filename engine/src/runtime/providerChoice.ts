// What `--provider auto` picks: the provider expected to run the forward pass fastest, with a one-line reason
// for the ProviderReport. A GPU pays a fixed cost per forward (kernel launches, host↔device copies, Dawn's
// command submission) that a small forward cannot earn back, so the choice turns on the work of one forward.
import type { ProviderName } from '../../../common/protocol';

/** The model's size, from the manifest (see parameterCount). */
export interface ModelShape {
  type: string;
  numLayers: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  tiedEmbeddings?: boolean;
}

export interface ForwardShape {
  parameters: number;
  batch: number;
  tokens: number;
}

export interface ProviderPick {
  provider: ProviderName;
  reason: string;
}

/**
 * Parameters × tokens × batch (≈ half the FLOPs of a forward) above which a GPU is expected to win. From the
 * measurements in issue 10 (H200, 16-core Xeon, onnxruntime-node 1.30): the 1.5M-parameter default model at
 * 128 tokens × batch 1 (1.9e8) took 4.3 ms on CPU and 5.7 ms on WebGPU; at 128 × 32 (6.1e9) 52 ms on CPU and
 * 22 ms on WebGPU; a 208M model at 128 × 1 (2.7e10) ran 3.6× faster on WebGPU. Fitting t = a·work^b to each
 * provider's two default-model points (CPU b ≈ 0.72, WebGPU b ≈ 0.39) puts the crossing at ≈ 4.5e8.
 */
export const GPU_WORK_THRESHOLD = 4.5e8;

/** Weights of a decoder of this shape: embeddings, per block attention (4·H²) and MLP, the LM head if untied. */
export function parameterCount(a: ModelShape): number {
  const H = a.hiddenSize;
  const gatedMlp = !/gpt2|gpt-2/i.test(a.type); // Llama-family MLPs have gate, up and down projections
  const block = 4 * H * H + (gatedMlp ? 3 : 2) * H * a.intermediateSize;
  const embeddings = a.vocabSize * H * (a.tiedEmbeddings === false ? 2 : 1);
  return embeddings + a.numLayers * block;
}

/** "1.5M", "208M", "1.24B": parameter counts as people say them. */
export function formatParameters(n: number): string {
  if (n >= 1e9) return `${+(n / 1e9).toPrecision(3)}B`;
  if (n >= 1e6) return `${+(n / 1e6).toPrecision(2)}M`;
  return `${+(n / 1e3).toPrecision(2)}K`;
}

/** The forward `auto` chooses for at load: one explain of a typical prompt (the session's provider is fixed after load). */
export function typicalExplain(architecture: ModelShape): ForwardShape {
  return { parameters: parameterCount(architecture), tokens: 128, batch: 1 };
}

const GPU_PREFERENCE: ProviderName[] = ['cuda', 'torch', 'webgpu'];

/** Parameters × tokens × batch: what GPU_WORK_THRESHOLD is compared with. */
export function gpuWork(shape: ForwardShape): number {
  return shape.parameters * shape.tokens * shape.batch;
}

/** The provider `auto` should use for forwards of `shape`, among those that can start here (`available`). */
export function chooseProvider(available: readonly ProviderName[], shape: ForwardShape): ProviderPick {
  const gpu = GPU_PREFERENCE.find((p) => available.includes(p));
  const size = `the ${formatParameters(shape.parameters)}-parameter model at ${shape.tokens} tokens × batch ${shape.batch}`;
  if (!gpu) return { provider: 'cpu', reason: 'cpu: no GPU provider can start here' };
  const work = gpuWork(shape);
  if (work < GPU_WORK_THRESHOLD && available.includes('cpu')) {
    return { provider: 'cpu', reason: `cpu: ${size} runs faster on CPU than on ${gpu} (below ${GPU_WORK_THRESHOLD.toExponential(1)} parameter-tokens a GPU's kernel-launch and transfer cost dominates)` };
  }
  return { provider: gpu, reason: `${gpu}: ${size} is large enough for the GPU to win (${work.toExponential(1)} parameter-tokens ≥ ${GPU_WORK_THRESHOLD.toExponential(1)})` };
}
