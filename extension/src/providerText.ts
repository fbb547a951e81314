// The provider report in the status bar and the side bar's Model view, in words (no vscode import: unit-tested).
// For the torch provider the words include what its Python process runs on: the device and the compute type.
import type { ProviderReport } from '../../common/protocol';
import { torchRuntimeDetail } from '../../common/providerText';

export { torchRuntimeDetail, torchRuntimeText } from '../../common/providerText';

/** The status bar's short form: "cpu", or "torch cuda:0" (the device without its name). */
export function providerLabel(p: ProviderReport): string {
  return p.torch ? `${p.used} ${p.torch.device.split(' ')[0]}` : p.used;
}

/** The status bar tooltip's form: "cpu", or "torch (PyTorch 2.5.1 in …, on cuda:0 (NVIDIA H200), bfloat16)". */
export function providerTooltip(p: ProviderReport): string {
  return p.torch ? `${p.used} (${torchRuntimeDetail(p.torch)})` : p.used;
}
