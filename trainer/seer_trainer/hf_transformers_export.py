"""`import --via transformers`: architectures hf_families.py does not implement, loaded with transformers and
exported with torch.onnx.export into the same format-2 explain graph as onnx_graph.py writes (docs/bundle-format.md).

ExplainHead wraps the loaded model without knowing its architecture: forward hooks on the embedding module and
on each decoder layer add `steering` to the residual stream and record it (layer 0 = the embedding output, layer
i = after block i, BEFORE the final norm, as onnx_graph.py's graph); the final norm's output at each row's last
real token goes through the model's own output embeddings, so no [batch, seq, vocab] logits exist. The decoder
is called without its LM head (get_decoder()), so nothing vocabulary-sized per token is computed either.

Memory: unlike onnx_graph.py's streaming writer, the whole model is in memory in float32, and the exporter and
onnx.save_model each serialise it once more: plan on about three times the fp32 weights."""
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch
from torch import nn

from .errors import SeerInputError
from .io_utils import sha256_file
from .onnx_graph import DATA_FILE, INPUTS, MODEL_FILE, OPSET, OUTPUTS, GraphFiles

INSTALL_HINT = "pip install transformers"


def _transformers():
    try:
        import transformers
    except ImportError:
        raise SeerInputError(f"--via transformers needs the transformers package, which this Python does not have; "
                             f"install it ({INSTALL_HINT}) or import a supported family without --via (the default path)")
    return transformers


def load_causal_lm(src: Path, log=print) -> nn.Module:
    """AutoModelForCausalLM from the checkpoint folder, float32 (the graph computes in float32), eval mode."""
    transformers = _transformers()
    log(f"loading {src} with transformers {getattr(transformers, '__version__', '?')} (the whole model, float32) …")
    try:
        # Eager attention: plain MatMul/Softmax, which the tracing exporter follows (SDPA kernels export less reliably).
        model = transformers.AutoModelForCausalLM.from_pretrained(str(src), torch_dtype=torch.float32, attn_implementation="eager")
    except (OSError, ValueError, KeyError) as e:  # what from_pretrained raises for a folder it cannot read
        raise SeerInputError(f"{src}: transformers could not load it as a causal language model: {e}")
    return model.eval()


@dataclass(frozen=True)
class RopeTheta:
    theta: float


@dataclass(frozen=True)
class TransformersConfig:
    """What export.manifest needs of a model's config (hf_families.DecoderConfig's names)."""
    family: str
    architecture: str
    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_position_embeddings: int
    norm_eps: float
    rope: RopeTheta  # as DecoderConfig.rope.theta (the manifest records it; the graph needs nothing else of RoPE)
    tie_word_embeddings: bool


def manifest_config(model: nn.Module, num_layers: int) -> TransformersConfig:
    c = model.config

    def first(*names, default=0):
        return next((getattr(c, n) for n in names if getattr(c, n, None) is not None), default)

    rope = first("rope_parameters", "rope_scaling", default={}) or {}
    theta = first("rope_theta", default=rope.get("rope_theta", 10000.0) if isinstance(rope, dict) else 10000.0)
    hidden = int(first("hidden_size", "n_embd", "d_model"))
    return TransformersConfig(
        family=str(first("model_type", default="unknown")), architecture=(first("architectures", default=None) or [type(model).__name__])[0],
        vocab_size=int(first("vocab_size")), hidden_size=hidden, num_layers=num_layers,
        num_heads=int(first("num_attention_heads", "n_head")), intermediate_size=int(first("intermediate_size", "n_inner", default=4 * hidden)),
        max_position_embeddings=int(first("max_position_embeddings", "n_positions", default=2048)),
        norm_eps=float(first("rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon", default=1e-6)),
        rope=RopeTheta(float(theta)), tie_word_embeddings=bool(first("tie_word_embeddings", default=False)))


def _decoder_parts(model: nn.Module):
    """(decoder, embedding, layers, final norm, output embeddings), found generically or a clear error."""
    name = type(model).__name__
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    if decoder is None:
        raise SeerInputError(f"{name} has no get_decoder(): SEER needs the decoder without its LM head")
    n = getattr(model.config, "num_hidden_layers", None)
    layers = next((m for m in decoder.children() if isinstance(m, nn.ModuleList) and (n is None or len(m) == n)), None)
    norm = next((getattr(decoder, a) for a in ("norm", "final_layernorm", "final_layer_norm", "ln_f", "norm_f")
                 if isinstance(getattr(decoder, a, None), nn.Module)), None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    missing = [what for what, part in (("the decoder layers (an nn.ModuleList of num_hidden_layers)", layers),
                                       ("the final norm (norm, final_layernorm, ln_f)", norm), ("the LM head", head)) if part is None]
    if missing:
        raise SeerInputError(f"{name}: SEER could not find {' and '.join(missing)} in the transformers model, so it cannot "
                             "read the residual stream of this architecture")
    return decoder, model.get_input_embeddings(), layers, norm, head


class ExplainHead(nn.Module):
    """The format-2 explain head around a transformers causal LM: forward(input_ids, attention_mask, positions,
    token_layers, steering) -> (states, mean_states, last_logits, token_states)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.decoder, embedding, self.layers, self.norm, self.head = _decoder_parts(model)
        self.final_softcap = getattr(model.config, "final_logit_softcapping", None)  # Gemma 2/3
        self._steering, self._states, self._pre_norm = None, [], None
        embedding.register_forward_hook(lambda m, inputs, out: self._steer(0, out))
        for i, layer in enumerate(self.layers):
            layer.register_forward_hook(lambda m, inputs, out, i=i: self._steer(i + 1, out))
        self.norm.register_forward_pre_hook(lambda m, inputs: setattr(self, "_pre_norm", inputs[0]))

    def _steer(self, i: int, out):
        """Adds steering[i] to the module's output (the residual stream; decoder layers of older transformers
        return a tuple whose first element it is) and records the result. Idle outside forward."""
        if self._steering is None:
            return None
        h = (out[0] if isinstance(out, tuple) else out) + self._steering[i].to(out[0].dtype if isinstance(out, tuple) else out.dtype)
        self._states.append(h)
        return (h, *out[1:]) if isinstance(out, tuple) else h

    def forward(self, input_ids, attention_mask, positions, token_layers, steering):
        self._steering, self._states = steering, []
        try:
            out = self.decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
            hidden = list(self._states)
            if len(hidden) != len(self.layers) + 1:
                raise SeerInputError(f"{type(self.model).__name__}: the hooks saw {len(hidden)} residual states, not "
                                     f"{len(self.layers) + 1}; this architecture does not run its layers once each")
            if self._pre_norm is None or self._pre_norm.shape != hidden[-1].shape:
                raise SeerInputError(f"{type(self.model).__name__}: its final norm did not run once on every token's "
                                     "state, so SEER cannot read the residual stream before it")
            hidden[-1] = self._pre_norm.float()  # the final norm's input: what every format-2 graph calls layer L
            normed = out[0] if isinstance(out, tuple) else out.last_hidden_state
        finally:
            self._steering, self._states, self._pre_norm = None, [], None
        size = hidden[0].shape[-1]
        mask = attention_mask.unsqueeze(-1).float()  # [B, T, 1]
        at = positions.view(-1, 1, 1).expand(-1, 1, size)
        last = (attention_mask.sum(1) - 1).view(-1, 1, 1).expand(-1, 1, size)  # right padding: the last real token
        onehot = (token_layers.view(-1, 1) == torch.arange(len(hidden)).view(1, -1)).float()  # [k, L+1]
        states, means, token_states = [], [], None  # token_states [k, B, T, H]: one layer added at a time
        for i, h in enumerate(hidden):
            h = h.float()
            states.append(h.gather(1, at).squeeze(1))
            means.append((h * mask).sum(1) / mask.sum(1))
            term = onehot[:, i].view(-1, 1, 1, 1) * h.unsqueeze(0)
            token_states = term if token_states is None else token_states + term
        logits = self.head(normed.gather(1, last).squeeze(1)).float()
        if self.final_softcap:
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return torch.stack(states), torch.stack(means), logits, token_states


def export_explain_graph(model: nn.Module, folder: Path, external_data_over: int = 1 << 30, log=print) -> GraphFiles:
    """model.onnx (and model.onnx.data, one file, when the weights exceed external_data_over bytes) in `folder`."""
    folder = Path(folder)
    head = ExplainHead(model).eval()
    L, hidden = len(head.layers), int(model.get_input_embeddings().weight.shape[-1])
    vocab = int(model.get_input_embeddings().weight.shape[0])
    # Batch 2 and token_layers of 2: an example dimension of 1 (or 0) invites the exporter to fix it.
    ids = torch.randint(0, vocab, (2, 7), generator=torch.Generator().manual_seed(0))
    mask = torch.tensor([[1] * 7, [1] * 5 + [0] * 2])
    example = (ids, mask, torch.tensor([6, 4]), torch.tensor([L, 0]), torch.zeros(L + 1, hidden))
    axes = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "positions": {0: "batch"},
            "token_layers": {0: "k"}, "steering": {0: "layers"}, "states": {1: "batch"}, "mean_states": {1: "batch"},
            "last_logits": {0: "batch"}, "token_states": {0: "k", 1: "batch", 2: "seq"}}
    scratch = folder / ".export"
    scratch.mkdir()
    options = {"dynamo": False} if "dynamo" in torch.onnx.export.__code__.co_varnames else {}  # torch >= 2.5: the tracing exporter
    log(f"exporting with torch.onnx.export ({L} layers, hidden {hidden}, opset {OPSET}) …")
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the tracer's notes on input checks and shape inference: not the user's concern
            torch.onnx.export(head, example, str(scratch / MODEL_FILE), input_names=INPUTS, output_names=OUTPUTS,
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, **options)
        # The exporter writes one file per tensor beside a graph over 2 GB; loading and saving once gives the
        # bundle's layout: every external tensor in model.onnx.data. This holds the weights in memory again.
        graph = onnx.load(str(scratch / MODEL_FILE))
        weights = sum(len(t.raw_data) for t in graph.graph.initializer)
        external = weights > external_data_over
        log(f"writing {weights / 1e9:.2f} GB of float32 weights {'to ' + DATA_FILE if external else 'inside ' + MODEL_FILE}")
        if external:
            onnx.save_model(graph, str(folder / MODEL_FILE), save_as_external_data=True, all_tensors_to_one_file=True,
                            location=DATA_FILE, size_threshold=0)
        else:
            onnx.save_model(graph, str(folder / MODEL_FILE))
        del graph
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    data = folder / DATA_FILE
    return GraphFiles(sha256_file(folder / MODEL_FILE),
                      {"file": DATA_FILE, "bytes": data.stat().st_size, "sha256": sha256_file(data)} if external else None)


@dataclass
class TransformersExport:
    """The import's view of a model loaded with transformers: its manifest config and its graph writer."""
    model: nn.Module
    config: TransformersConfig

    def write_graph(self, folder: Path, external_data_over: int, log=print) -> GraphFiles:
        return export_explain_graph(self.model, folder, external_data_over, log)


def load_for_export(src: Path, log=print) -> TransformersExport:
    model = load_causal_lm(src, log)
    _, _, layers, _, _ = _decoder_parts(model)
    return TransformersExport(model, manifest_config(model, len(layers)))
