// What the torch provider runs on, in words: one wording for the CLI's reports, the status bar, the Model view
// and the panel's footnote.
import type { TorchRuntime } from './protocol';

/** e.g. "cuda:0 (NVIDIA H200), bfloat16". */
export function torchRuntimeText(t: TorchRuntime): string {
  return `${t.device}, ${t.dtype}`;
}

/** e.g. "PyTorch 2.5.1 in /usr/bin/python3, on cuda:0 (NVIDIA H200), bfloat16". */
export function torchRuntimeDetail(t: TorchRuntime): string {
  return `PyTorch ${t.torchVersion} in ${t.python}, on ${torchRuntimeText(t)}`;
}
