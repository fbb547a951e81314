"""A seer-llama bundle's model as the trainer's SeerLlama, with the weights of the bundle's own model.onnx.

The graph holds exactly the weights the build trained and rounded to weights_dtype, so SeerLlama loaded from it
computes what the build computed: the pretrain stage a build resumes from a baseline twin (pretrained.py), and the
PyTorch reference the engine's tests check ONNX Runtime against (golden.py). Reading the graph, not model.pt, means
a fresh checkout (model.pt is not committed) has them too."""
from pathlib import Path
from typing import Dict, Tuple

import torch

from .config import ModelConfig
from .errors import SeerInputError
from .export import hf_names
from .model import SeerLlama
from .tokenizer import ByteLevelBPE
from .torch_forward import load_bundle, read_manifest


def model_config(manifest: dict) -> ModelConfig:
    """The SeerLlama configuration seer.json's `architecture` records."""
    a = manifest["architecture"]
    if a.get("type") != "seer-llama":
        raise SeerInputError(f"the bundle's architecture is {a.get('type')!r}, not the trainer's seer-llama")
    return ModelConfig(vocab_size=a["vocabSize"], hidden_size=a["hiddenSize"], num_layers=a["numLayers"],
                       num_heads=a["numHeads"], intermediate_size=a["intermediateSize"], max_context=a["maxContext"],
                       rope_theta=a["ropeTheta"], norm_eps=a["normEps"], tied_embeddings=a["tiedEmbeddings"])


def seer_llama_weights(bundle: Path, cfg: ModelConfig) -> Dict[str, torch.Tensor]:
    """SeerLlama's state dict (float32) from the bundle's model.onnx; a missing or misshapen weight is a
    SeerInputError naming it (`use --pretrained-from none` is the fix where a build asked for it)."""
    graph = dict(load_bundle(bundle, torch.device("cpu"), torch.float32).named_parameters())
    shapes = {name: t.shape for name, t in SeerLlama(cfg).state_dict().items()}
    state = {}
    for name, hf_name in hf_names(cfg).items():
        if hf_name not in graph:
            raise SeerInputError(f"{bundle}/model.onnx has no weight {hf_name}, which this config's model has")
        t = graph[hf_name].detach()
        if t.shape != shapes[name]:
            raise SeerInputError(f"{bundle}/model.onnx: weight {hf_name} has shape {list(t.shape)}, this config's model "
                                 f"needs {list(shapes[name])}")
        state[name] = t.clone()
    return state


def load_seer_llama(bundle: Path) -> Tuple[dict, SeerLlama, ByteLevelBPE]:
    """seer.json, SeerLlama (eval mode, float32 compute) with the graph's weights, and the tokenizer."""
    bundle = Path(bundle)
    manifest = read_manifest(bundle)
    cfg = model_config(manifest)
    model = SeerLlama(cfg)
    model.load_state_dict(seer_llama_weights(bundle, cfg))
    model.eval()
    return manifest, model, ByteLevelBPE.load(bundle / manifest["files"]["tokenizer"])
