"""One explain forward of the torch provider (torch_forward.py serves it), as the bundle's explain graph computes it
(docs/bundle-format.md): the request checked on the host, then only the fetched outputs made on the device (states
at one position per row, per-layer means, the last real token's logits, the token layers' states) and the
reductions the engine would otherwise compute from them (`reduced_outputs`: cosines with the bank's vectors, the
top next tokens), then one copy to the host.
`device_outputs` waits for nothing on the device, so that torch_graphs.py can capture it."""
import time
from typing import TYPE_CHECKING, Dict, List, NamedTuple, Optional, Tuple

import torch

from .errors import SeerInputError
from .hf_families import DecoderConfig
from .hf_model import HFDecoder, check_token_ids

if TYPE_CHECKING:
    from .torch_graphs import Graphs

OUTPUTS = ("states", "mean_states", "last_logits", "token_states", "token_cosines", "readout_cosines", "map_cosines",
           "top_ids", "top_logits", "log_sum_exp")
TOP = ("top_ids", "top_logits", "log_sum_exp")
# Each cosine output and the vectors it is taken with (an input, kept on the device: torch_forward.KeptPrototypes).
COSINE_VECTORS = {"token_cosines": "token_prototypes", "readout_cosines": "readout_prototypes", "map_cosines": "map_vectors"}
PER_TOKEN = ("token_states", "token_cosines")  # [k, B, T, ...]: cut back to the request's T after a graph's padding


class Plan(NamedTuple):
    """What a request asks for besides its tensors: the outputs (in OUTPUTS order), the token layers, top_k, and the
    layer whose read-out states map_cosines compares with map_vectors."""
    fetches: Tuple[str, ...]
    layers: Tuple[int, ...]
    top_k: Optional[int]
    map_layer: Optional[int] = None


class Request(NamedTuple):
    """A request's inputs, checked, on the host: ids and mask [B, T], read-out positions [B], steering [L+1, H] (None:
    all zeros, the unsteered model), and the vectors of each cosine output fetched (COSINE_VECTORS, float32):
    token_prototypes [k, C, H], readout_prototypes [L+1, C, H], map_vectors [M, H]."""
    ids: torch.Tensor
    mask: torch.Tensor
    positions: torch.Tensor
    steering: Optional[torch.Tensor]
    vectors: Dict[str, torch.Tensor]
    plan: Plan
    right_padded: bool  # every mask row 1…1 0…0, as the engine pads: attention needs no padding mask


def is_right_padded(mask: torch.Tensor) -> bool:
    return bool(((mask == 0) | (mask == 1)).all()) and bool((mask[:, 1:] <= mask[:, :-1]).all())


def checked_request(c: DecoderConfig, feeds: Dict[str, torch.Tensor], fetches: List[str]) -> Request:
    """Every check on the host tensors the request brought, before anything reaches the device: a check there
    would wait for the GPU (measured on an H200: at batch 1 the forward is bound by kernel launches)."""
    ids, mask, positions, token_layers = feeds["input_ids"], feeds["attention_mask"], feeds["positions"], feeds["token_layers"]
    B, T = ids.shape
    if mask.shape != ids.shape:
        raise SeerInputError(f"attention_mask {list(mask.shape)} does not match input_ids {list(ids.shape)} (a KV-cache past is not supported here)")
    check_token_ids(ids, c.vocab_size)
    if positions.shape != (B,) or bool(((positions < 0) | (positions >= T)).any()):
        raise SeerInputError(f"positions {positions.tolist()} do not fit a batch of {B} rows of {T} tokens")
    if token_layers.numel() and bool(((token_layers < 0) | (token_layers > c.num_layers)).any()):
        raise SeerInputError(f"token_layers {token_layers.tolist()} must lie in 0..{c.num_layers}")
    steering = feeds.get("steering")  # absent: all zeros (the engine sends none for an unsteered forward)
    if steering is not None and tuple(steering.shape) != (c.num_layers + 1, c.hidden_size):
        raise SeerInputError(f"steering is {list(steering.shape)}, expected {[c.num_layers + 1, c.hidden_size]}")
    plan = Plan(tuple(n for n in OUTPUTS if n in fetches), tuple(token_layers.tolist()), None)
    # Each cosine output's vectors: their shape, None where any size goes (the number of concepts or examples).
    shapes = {"token_cosines": (len(plan.layers), None, c.hidden_size), "readout_cosines": (c.num_layers + 1, None, c.hidden_size),
              "map_cosines": (None, c.hidden_size)}
    vectors = {}
    for output, shape in shapes.items():
        if output not in fetches:
            continue
        v = feeds.get(COSINE_VECTORS[output])
        if v is None or v.dim() != len(shape) or any(want is not None and got != want for got, want in zip(v.shape, shape)):
            described = ", ".join("N" if n is None else str(n) for n in shape)
            raise SeerInputError(f"{output} needs {COSINE_VECTORS[output]} [{described}]{'' if v is None else f', got {list(v.shape)}'}")
        vectors[COSINE_VECTORS[output]] = v.float()
    if "map_cosines" in fetches:
        layer = feeds.get("map_layer")
        if layer is None or layer.numel() != 1 or not 0 <= int(layer.reshape(-1)[0]) <= c.num_layers:
            raise SeerInputError(f"map_cosines needs map_layer: one layer in 0..{c.num_layers}")
        plan = plan._replace(map_layer=int(layer.reshape(-1)[0]))
    if any(name in fetches for name in TOP):
        if "top_k" not in feeds or feeds["top_k"].numel() != 1 or int(feeds["top_k"][0]) < 1:
            raise SeerInputError("top_ids, top_logits and log_sum_exp need top_k: one positive integer")
        plan = plan._replace(top_k=min(int(feeds["top_k"][0]), c.vocab_size))
    return Request(ids, mask, positions, steering if steering is not None and bool(steering.any()) else None,  # zeros: skip the adds
                   vectors, plan, is_right_padded(mask))


def explain_outputs(model: HFDecoder, feeds: Dict[str, torch.Tensor], fetches: List[str],
                    graphs: Optional["Graphs"] = None, phases: Optional[Dict[str, float]] = None) -> Dict[str, torch.Tensor]:
    """The graph's outputs (float32, on the CPU) for `feeds` (on the CPU; token_prototypes may already be on the
    device): only those in `fetches`. With `graphs` (graphs_for: on CUDA), a small right-padded request replays a
    captured CUDA graph rather than launching ~700 kernels one by one. `phases`, when given, gets the milliseconds of
    each step, measured without any extra synchronisation: check (the host checks), launch (inputs to the device and
    the forward queued: on a GPU the host can run ahead of it) and wait (until the outputs are on the host)."""
    t0 = time.perf_counter()
    request = checked_request(model.config, feeds, fetches)
    t1 = time.perf_counter()
    T = request.ids.shape[1]
    with torch.inference_mode():
        out = graphs.run(model, request) if graphs is not None and request.right_padded else None
        if out is None:
            device = next(model.parameters()).device
            inputs = {name: t.to(device) for name, t in host_inputs(request, T).items()}
            out = device_outputs(model, inputs, request.plan, request.right_padded)
        t2 = time.perf_counter()
        host = to_host(out, T)
    if phases is not None:
        phases.update(check=(t1 - t0) * 1000, launch=(t2 - t1) * 1000, wait=(time.perf_counter() - t2) * 1000)
    return host


def host_inputs(r: Request, T: int) -> Dict[str, torch.Tensor]:
    """device_outputs' inputs, on the host, fitted to T tokens: padded on the right (mask 0, token 0: a valid id) or
    cut (read-out positions clamped into it); right-padded rows stay right-padded either way."""
    B, n = r.ids.shape

    def fit(t: torch.Tensor) -> torch.Tensor:
        return t[:, :T] if n >= T else torch.cat([t, t.new_zeros((B, T - n))], 1)
    inputs = {"input_ids": fit(r.ids), "attention_mask": fit(r.mask), "positions": r.positions.clamp(max=T - 1)}
    if r.steering is not None:
        inputs["steering"] = r.steering
    inputs.update(r.vectors)
    return inputs


def device_outputs(model: HFDecoder, inputs: Dict[str, torch.Tensor], plan: Plan, right_padded: bool) -> Dict[str, torch.Tensor]:
    """The outputs `plan` asks for, on the device of `inputs` (host_inputs' names). Nothing here waits for the
    device (no .item(), bool(tensor), .tolist(), .cpu()): this is what a CUDA graph captures."""
    ids, mask, positions = inputs["input_ids"], inputs["attention_mask"], inputs["positions"]
    fetches, layers, (B, T) = plan.fetches, plan.layers, ids.shape
    # Only what is fetched is made: at batch 1 every kernel launch counts.
    read_out = "states" in fetches or "readout_cosines" in fetches or "map_cosines" in fetches
    rows = torch.arange(B, device=ids.device) if read_out else None
    m = mask.unsqueeze(-1).float() if "mean_states" in fetches else None
    at_positions, means, whole = [], [], {}
    full = set(layers) if "token_states" in fetches or "token_cosines" in fetches else set()

    def read_state(i: int, h: torch.Tensor) -> None:
        # Each layer's state is read as it is made and then dropped: the GPU holds one layer's [B, T, H] at a
        # time (and the token layers'), not all L + 1.
        if read_out:
            at_positions.append(h[rows, positions])
        if "mean_states" in fetches:
            means.append((h.float() * m).sum(1) / m.sum(1))
        if i in full:
            whole[i] = h

    out = model(ids, mask, steering=inputs.get("steering"), ids_checked=True, read_state=read_state, right_padded=right_padded)
    result = {}
    states = torch.stack(at_positions).float() if read_out else None
    if "states" in fetches:
        result["states"] = states
    if "mean_states" in fetches:
        result["mean_states"] = torch.stack(means)
    if "last_logits" in fetches:
        result["last_logits"] = out.last_logits.float()
    if "token_states" in fetches:
        H = model.config.hidden_size
        result["token_states"] = torch.stack([whole[i].float() for i in layers]) if layers else ids.new_zeros((0, B, T, H), dtype=torch.float32)
    result.update(reduced_outputs(whole, states, out.last_logits, inputs, plan, mask))
    return result


def cosines(h: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """[..., N, H] with [..., P, H] (broadcast) → [..., N, P], as reductions.ts's cosineToAll: 0 for a zero vector,
    clamped to [-1, 1]."""
    h = h.float()
    dots = h @ vectors.transpose(-1, -2)
    norms = h.norm(dim=-1, keepdim=True) * vectors.norm(dim=-1).unsqueeze(-2)
    return torch.where(norms == 0, torch.zeros_like(dots), dots / norms).clamp(-1.0, 1.0)


def reduced_outputs(token_states: Dict[int, torch.Tensor], states: Optional[torch.Tensor], last_logits: torch.Tensor,
                    vectors: Dict[str, torch.Tensor], plan: Plan, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
    """What the engine's runtime/reductions.ts computes from the states and last_logits, computed here where they
    are (so only these cross the pipe), from `token_states` (layer -> [B, T, H], at least the token layers), `states`
    ([L+1, B, H], each layer's state at the read-out positions) and `last_logits` [B, V]: token_cosines [k, B, T, C],
    each real token's cosine with token layer j's prototypes (`vectors` token_prototypes [k, C, H]; 0 at padding);
    readout_cosines [L+1, B, C], each row's read-out state's cosine with its layer's prototypes (readout_prototypes
    [L+1, C, H]); map_cosines [B, M], with the concept map's examples at map_layer (map_vectors [M, H]); top_ids and
    top_logits [B, top_k] (most probable first) and log_sum_exp [B] over the vocabulary."""
    result = {}
    if "token_cosines" in plan.fetches:
        protos = vectors["token_prototypes"]
        real = mask.unsqueeze(-1).bool()
        layers = [cosines(token_states[i], protos[j]) * real for j, i in enumerate(plan.layers)]
        B, T = mask.shape
        result["token_cosines"] = torch.stack(layers) if layers else protos.new_zeros((0, B, T, protos.shape[1]))
    if "readout_cosines" in plan.fetches:
        result["readout_cosines"] = cosines(states, vectors["readout_prototypes"])
    if "map_cosines" in plan.fetches:
        result["map_cosines"] = cosines(states[plan.map_layer], vectors["map_vectors"])
    if plan.top_k is not None:
        logits = last_logits.float()
        values, ids = logits.topk(plan.top_k, dim=-1)
        top = {"top_ids": ids.long(), "top_logits": values, "log_sum_exp": torch.logsumexp(logits, dim=-1)}
        result.update((name, t) for name, t in top.items() if name in plan.fetches)
    return result


def to_host(outputs: Dict[str, torch.Tensor], T: int) -> Dict[str, torch.Tensor]:
    """Fresh host copies of `outputs` (a graph's are overwritten by its next replay), per-token ones cut to T. From
    a GPU: into pinned memory, every copy queued, then one synchronisation rather than one per output."""
    cut = {name: t[:, :, :T] if name in PER_TOKEN else t for name, t in outputs.items()}
    device = next(iter(cut.values())).device if cut else torch.device("cpu")
    pinned = device.type == "cuda"
    host = {name: torch.empty(t.shape, dtype=t.dtype, pin_memory=pinned) for name, t in cut.items()}
    for name, t in cut.items():
        host[name].copy_(t, non_blocking=pinned)
    if pinned:
        torch.cuda.current_stream(device).synchronize()
    return host
