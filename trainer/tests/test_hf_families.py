"""config.json -> DecoderConfig for each family, and hf_model.HFDecoder on tiny random checkpoints
checked against a deliberately naive NumPy reference below (loops over positions and heads, written
from the published formulas and reading config.json itself; it shares no code with hf_model.py)."""
import dataclasses
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import hf_fixtures  # noqa: E402
from seer_trainer.errors import SeerInputError  # noqa: E402
from seer_trainer.hf_families import decoder_config, load_decoder_config  # noqa: E402
from seer_trainer.hf_model import HFDecoder, load_hf_decoder  # noqa: E402
from seer_trainer.safetensors_io import Checkpoint  # noqa: E402

T = 12  # longer than the fixtures' sliding windows (4)


# ---------------- the independent reference ----------------

def reference(cfg: dict, W: dict, ids):
    """Hidden states [L+1][T, H] (embeddings, then after each block, before the final norm) and the last logits."""
    gemma, kind = cfg["model_type"] == "gemma2", cfg["model_type"]
    H, nh = cfg["hidden_size"], cfg["num_attention_heads"]
    nkv = cfg.get("num_key_value_heads") or nh
    hd = cfg.get("head_dim") or H // nh
    eps, half = cfg["rms_norm_eps"], hd // 2

    def rms(v, w, plus_one=gemma):
        return v / math.sqrt(float(np.mean(v * v)) + eps) * ((1.0 + w) if plus_one else w)

    freqs = []
    rs = cfg.get("rope_scaling") or {}
    for j in range(half):
        f = cfg["rope_theta"] ** (-(2.0 * j) / hd)
        if rs.get("rope_type") == "llama3":  # Llama 3.1 paper / reference code
            old, lo, hi, factor = rs["original_max_position_embeddings"], rs["low_freq_factor"], rs["high_freq_factor"], rs["factor"]
            wavelen = 2 * math.pi / f
            if wavelen < old / hi:
                pass
            elif wavelen > old / lo:
                f = f / factor
            else:
                s = (old / wavelen - lo) / (hi - lo)
                f = (1 - s) * f / factor + s * f
        freqs.append(f)

    def rope(v, pos):
        out = np.empty_like(v)
        for j in range(half):
            c, s = math.cos(pos * freqs[j]), math.sin(pos * freqs[j])
            out[j] = v[j] * c - v[j + half] * s
            out[j + half] = v[j + half] * c + v[j] * s
        return out

    def act(v):
        if gemma:
            return 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))
        return v / (1 + np.exp(-v))

    def windowed(layer):
        if kind == "mistral":
            return cfg.get("sliding_window")
        if gemma and layer % 2 == 0:
            return cfg["sliding_window"]
        return None  # the Qwen fixtures have use_sliding_window false

    scale = cfg["query_pre_attn_scalar"] ** -0.5 if gemma else hd ** -0.5
    n = len(ids)
    x = np.array([W["model.embed_tokens.weight"][t] for t in ids]) * (math.sqrt(H) if gemma else 1.0)
    states = [x.copy()]
    for layer in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{layer}."

        def proj(name, v):
            out = W[p + name + ".weight"] @ v
            return out + W[p + name + ".bias"] if p + name + ".bias" in W else out

        h = [rms(x[t], W[p + "input_layernorm.weight"]) for t in range(n)]
        q = [proj("self_attn.q_proj", h[t]).reshape(nh, hd) for t in range(n)]
        k = [proj("self_attn.k_proj", h[t]).reshape(nkv, hd) for t in range(n)]
        v = [proj("self_attn.v_proj", h[t]).reshape(nkv, hd) for t in range(n)]
        if kind == "qwen3":
            q = [np.array([rms(row, W[p + "self_attn.q_norm.weight"], False) for row in qt]) for qt in q]
            k = [np.array([rms(row, W[p + "self_attn.k_norm.weight"], False) for row in kt]) for kt in k]
        q = [np.array([rope(row, t) for row in q[t]]) for t in range(n)]
        k = [np.array([rope(row, t) for row in k[t]]) for t in range(n)]
        window = windowed(layer)
        new_x = x.copy()
        for t in range(n):
            heads = []
            for head in range(nh):
                g = head // (nh // nkv)
                keys = [j for j in range(t + 1) if window is None or t - j < window]
                scores = np.array([q[t][head] @ k[j][g] * scale for j in keys])
                if gemma:
                    cap = cfg["attn_logit_softcapping"]
                    scores = np.tanh(scores / cap) * cap
                w = np.exp(scores - scores.max())
                w /= w.sum()
                heads.append(sum(w[i] * v[j][g] for i, j in enumerate(keys)))
            attn = W[p + "self_attn.o_proj.weight"] @ np.concatenate(heads)
            if gemma:
                attn = rms(attn, W[p + "post_attention_layernorm.weight"])
            new_x[t] = x[t] + attn
        x = new_x
        for t in range(n):
            m = rms(x[t], W[p + ("pre_feedforward_layernorm.weight" if gemma else "post_attention_layernorm.weight")])
            out = W[p + "mlp.down_proj.weight"] @ (act(W[p + "mlp.gate_proj.weight"] @ m) * (W[p + "mlp.up_proj.weight"] @ m))
            if gemma:
                out = rms(out, W[p + "post_feedforward_layernorm.weight"])
            x[t] = x[t] + out
        states.append(x.copy())
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    logits = head @ rms(x[-1], W["model.norm.weight"])
    if gemma:
        cap = cfg["final_logit_softcapping"]
        logits = np.tanh(logits / cap) * cap
    return states, logits


def assert_close(ours, ref, what, rel=1e-4):
    ours = np.asarray(ours, np.float64)
    err = np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12)
    assert err <= rel, f"{what}: max error {err:.2e} relative to the largest value"


# ---------------- the model against the reference ----------------

@pytest.fixture(params=list(hf_fixtures.CASES))
def fixture(request, tmp_path):
    return hf_fixtures.build(tmp_path, request.param)


def _batch(vocab, seed=0):
    rng = np.random.default_rng(seed)
    full, short = rng.integers(0, vocab, T).tolist(), rng.integers(0, vocab, 8).tolist()
    ids = torch.tensor([full, short + [0] * (T - 8)])  # right padding, as the SEER pipeline pads
    mask = torch.tensor([[1] * T, [1] * 8 + [0] * (T - 8)])
    return full, short, ids, mask


def test_hidden_states_and_logits_match_the_reference(fixture):
    model = load_hf_decoder(fixture.folder)
    full, short, ids, mask = _batch(fixture.config["vocab_size"])
    with torch.no_grad():
        out = model(ids, mask)
    assert len(out.hidden_states) == fixture.config["num_hidden_layers"] + 1
    assert out.last_index.tolist() == [T - 1, 7]
    for row, tokens in enumerate((full, short)):
        states, logits = reference(fixture.config, fixture.weights, tokens)
        for layer, ref in enumerate(states):
            assert_close(out.hidden_states[layer][row, :len(tokens)], ref, f"row {row} layer {layer}")
        assert_close(out.last_logits[row], logits, f"row {row} logits")


# Each option, switched off, must move the result: the fixtures exercise what they claim to.
LLAMA31 = decoder_config(hf_fixtures.CASES["llama3.1-sharded-untied"][0])
OPTIONS = {
    "llama3.1-sharded-untied": {"rope": dataclasses.replace(LLAMA31.rope, kind="default")},  # same theta, no llama3 scaling
    "mistral-window": {"sliding_window": None},
    "qwen2.5-bias": {"qkv_bias": False},
    "qwen3-qknorm": {"qk_norm": False},
    "gemma2": {"attn_softcap": None, "final_softcap": None, "sliding_window": None, "norm_plus_one": False, "embed_scale": 1.0,
               "attn_scale": 0.0},
}


@pytest.mark.parametrize("case", list(OPTIONS))
def test_every_family_option_changes_the_result(tmp_path, case):
    fx = hf_fixtures.build(tmp_path, case)
    full, _, ids, mask = _batch(fx.config["vocab_size"])
    states, logits = reference(fx.config, fx.weights, full)
    base = load_decoder_config(fx.folder)
    for field, off in OPTIONS[case].items():
        changed = dataclasses.replace(base, **{field: off})
        with Checkpoint(fx.folder) as ckpt:
            model = HFDecoder(changed, device="meta").load_weights(ckpt)
        if field == "qkv_bias":
            assert not hasattr(model.model.layers[0].self_attn.q_proj, "bias") or model.model.layers[0].self_attn.q_proj.bias is None
            continue  # the bias tensors are then unused; the reference match above covers them
        with torch.no_grad():
            out = model(ids[:1], mask[:1])
        moved = max(np.abs(out.hidden_states[-1][0].numpy() - states[-1]).max() / np.abs(states[-1]).max(),
                    np.abs(out.last_logits[0].numpy() - logits).max() / np.abs(logits).max())
        assert moved > 1e-3, f"{case}: switching {field} off changed nothing (moved {moved:.1e})"


def test_left_padding_gives_the_unpadded_states(tmp_path):
    fx = hf_fixtures.build(tmp_path, "qwen3-qknorm")
    model = load_hf_decoder(fx.folder)
    ids = torch.tensor([[5, 6, 7, 8, 9], [0, 0, 5, 6, 7]])
    mask = torch.tensor([[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]])
    with torch.no_grad():
        both = model(ids, mask)
        alone = model(ids[1:, 2:])
    assert both.last_index.tolist() == [4, 4]
    with pytest.raises(SeerInputError, match=r"token ids must lie in \[0, 96\)"):
        model(torch.tensor([[1, 96]]))
    torch.testing.assert_close(both.hidden_states[-1][1, 2:], alone.hidden_states[-1][0], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(both.last_logits[1], alone.last_logits[0], rtol=1e-5, atol=1e-5)


def test_loading_streams_one_tensor_at_a_time_into_the_model(tmp_path, monkeypatch):
    fx = hf_fixtures.build(tmp_path, "llama3.2-bf16-tied")
    with Checkpoint(fx.folder) as ckpt:
        model = HFDecoder(load_decoder_config(fx.folder), device="meta")
        assert ckpt.reads == 0 and all(p.is_meta for p in model.parameters())  # building allocated no weights
        loaded_before_each_read, read = [], ckpt.read

        def counting_read(name, dtype=None):
            loaded_before_each_read.append(sum(not p.is_meta for p in model.parameters()))
            return read(name, dtype)

        monkeypatch.setattr(ckpt, "read", counting_read)
        model.load_weights(ckpt)
        # each tensor goes straight into its parameter before the next is read: no dict of all weights
        assert loaded_before_each_read == list(range(len(fx.weights)))
        assert ckpt.nbytes() == 2 * sum(w.size for w in fx.weights.values())  # bf16 on disk
    assert not any(p.is_meta for p in model.parameters())
    assert model.lm_head is None and model.unused_tensors == []  # tied: the head is the embedding, not a copy
    stored_elements = sum(w.size for w in fx.weights.values())
    assert sum(p.numel() for p in model.parameters()) == stored_elements
    assert model.model.embed_tokens.weight.dtype == torch.float32  # bf16 widened on read


# ---------------- config.json -> DecoderConfig ----------------

def test_family_tables():
    c = {name: decoder_config(cfg) for name, (cfg, _, _) in hf_fixtures.CASES.items()}
    llama = c["llama3.1-sharded-untied"]
    assert (llama.family, llama.num_heads, llama.num_kv_heads, llama.head_dim, llama.tie_word_embeddings) == ("llama", 4, 2, 16, False)
    assert (llama.rope.kind, llama.rope.factor, llama.rope.original_max_position, llama.rope.theta) == ("llama3", 8.0, 64, 500000.0)
    assert c["llama2-f16-mha"].num_kv_heads == 4 and c["llama2-f16-mha"].rope.kind == "default"
    assert c["mistral-window"].sliding_window == 4 and c["mistral-window"].sliding_layers == (True, True)
    q2 = c["qwen2.5-bias"]
    assert (q2.qkv_bias, q2.o_bias, q2.sliding_layers) == (True, False, (False, False))
    q3 = c["qwen3-qknorm"]
    assert (q3.qk_norm, q3.head_dim, q3.hidden_size, q3.sliding_window) == (True, 24, 64, None)
    g = c["gemma2"]
    assert (g.norm_plus_one, g.embed_scale, g.activation, g.sliding_layers) == (True, 8.0, "gelu_tanh", (True, False))
    assert (g.attn_softcap, g.final_softcap, g.query_scale) == (2.0, 1.5, 24 ** -0.5)
    assert g.norm_names["mlp_norm"] == "pre_feedforward_layernorm" and llama.norm_names["mlp_norm"] == "post_attention_layernorm"


def _minimal(arch, model_type, **keys):
    return {"architectures": [arch], "model_type": model_type, "vocab_size": 10, "hidden_size": 8,
            "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16, **keys}


def test_omitted_keys_take_the_transformers_defaults():
    # transformers leaves keys equal to the class defaults out of config.json
    mistral = decoder_config(_minimal("MistralForCausalLM", "mistral", num_key_value_heads=2))
    assert mistral.sliding_window == 4096 and mistral.rope.theta == 10000.0 and mistral.norm_eps == 1e-6
    assert decoder_config(_minimal("MistralForCausalLM", "mistral", num_key_value_heads=2, sliding_window=None)).sliding_window is None
    gemma = decoder_config(_minimal("Gemma2ForCausalLM", "gemma2", head_dim=4))
    assert (gemma.attn_softcap, gemma.final_softcap, gemma.tie_word_embeddings, gemma.query_scale) == (50.0, 30.0, True, 256 ** -0.5)
    llama = decoder_config(_minimal("LlamaForCausalLM", "llama"))
    assert (llama.num_kv_heads, llama.head_dim, llama.tie_word_embeddings) == (2, 4, False)
    assert decoder_config({**_minimal("LlamaForCausalLM", "llama"), "architectures": None}).family == "llama"  # model_type alone
    assert decoder_config(_minimal("LLaMAForCausalLM", "llama")).family == "llama"  # early Llama conversions


def test_newer_config_spellings():
    v5 = decoder_config(_minimal("LlamaForCausalLM", "llama", rope_parameters={"rope_type": "default", "rope_theta": 123.0}))
    assert v5.rope.theta == 123.0 and v5.rope.kind == "default"
    v5_llama3 = decoder_config(_minimal("LlamaForCausalLM", "llama", rope_parameters={**hf_fixtures.LLAMA3_ROPE, "rope_theta": 5e5}))
    assert (v5_llama3.rope.kind, v5_llama3.rope.theta, v5_llama3.rope.original_max_position) == ("llama3", 5e5, 64)
    typed = decoder_config(_minimal("Qwen2ForCausalLM", "qwen2", use_sliding_window=True, sliding_window=8,
                                    layer_types=["full_attention", "sliding_attention"]))
    assert typed.sliding_layers == (False, True) and typed.sliding_window == 8
    legacy = decoder_config(_minimal("LlamaForCausalLM", "llama", rope_scaling={"type": "linear", "factor": 2.0}))
    assert (legacy.rope.kind, legacy.rope.factor) == ("linear", 2.0)


@pytest.mark.parametrize("change, words", [
    ({"architectures": ["PhiForCausalLM"], "model_type": "phi"}, "PhiForCausalLM is not supported without transformers. "
                                                                  "Supported: LlamaForCausalLM (llama), MistralForCausalLM"),
    ({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}, "rope type 'yarn' is not supported"),
    ({"rope_scaling": {"rope_type": "llama3", "factor": 8.0}}, "needs a numeric 'low_freq_factor'"),
    ({"rope_scaling": {**hf_fixtures.LLAMA3_ROPE, "factor": "8"}}, "rope llama3 factor must be a positive number"),
    ({"num_key_value_heads": 3, "num_attention_heads": 4, "hidden_size": 8}, "multiple of num_key_value_heads"),
    ({"hidden_size": "64"}, "hidden_size must be an integer from 1 to 2147483647, not '64'"),
    ({"num_hidden_layers": 10 ** 30}, "num_hidden_layers must be an integer from 1 to 4096"),
    ({"hidden_act": "relu"}, "activation 'relu' is not supported"),
    ({"hidden_act": ["silu"]}, "activation ['silu'] is not supported"),
    ({"architectures": [], "model_type": ["llama"]}, "an unnamed architecture is not supported"),
    ({"rope_theta": "1e4"}, "rope_theta must be a positive number, not '1e4'"),
    ({"rms_norm_eps": "small"}, "rms_norm_eps must be a positive number"),
    ({"quantization_config": {"quant_method": "gptq"}}, "quantised checkpoints (gptq)"),
])
def test_bad_configs_are_explained(change, words):
    with pytest.raises(SeerInputError) as err:
        decoder_config({**_minimal("LlamaForCausalLM", "llama"), **change}, "cfg.json")
    assert words in str(err.value) and str(err.value).startswith("cfg.json: ")
    if "not supported without" in words:
        assert "--via transformers" in str(err.value) and "Gemma2ForCausalLM (gemma2)" in str(err.value)


def test_weights_that_do_not_fit_the_config_are_explained(tmp_path):
    fx = hf_fixtures.build(tmp_path, "mistral-window")
    cfg = json.loads((fx.folder / "config.json").read_text())
    (fx.folder / "config.json").write_text(json.dumps({**cfg, "intermediate_size": 96}))
    with pytest.raises(SeerInputError, match=r"'model.layers.0.mlp.gate_proj.weight' has shape \[128, 64\], but config.json implies \[96, 64\]"):
        load_hf_decoder(fx.folder)
    (fx.folder / "config.json").write_text(json.dumps({**cfg, "num_hidden_layers": 3}))
    with pytest.raises(SeerInputError, match=r"no tensor 'model.layers.2.input_layernorm.weight'"):
        load_hf_decoder(fx.folder)
    (fx.folder / "config.json").unlink()
    with pytest.raises(SeerInputError, match="config.json: not found"):
        load_hf_decoder(fx.folder)


def test_randomly_corrupted_configs_give_only_clear_errors():
    rng = np.random.default_rng(0)
    junk = [None, -1, 0, 2.5, "x", [], {}, [1], {"a": 1}, True, 10 ** 30, float("nan"),
            {"rope_type": "llama3", "factor": 0}, ["full_attention"] * 2]
    refused = 0
    for cfg, _, _ in hf_fixtures.CASES.values():
        for _ in range(60):
            c = json.loads(json.dumps(cfg))
            keys = list(c) + ["rope_scaling", "rope_parameters", "layer_types", "quantization_config"]
            for _ in range(2):
                c[keys[rng.integers(len(keys))]] = junk[rng.integers(len(junk))]
            try:
                decoder_config(c)
            except SeerInputError:
                refused += 1
    assert refused > 100
