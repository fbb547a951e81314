"""SentencePiece-converted tokenizer.json fixtures (Llama 1/2, Mistral, Gemma), small enough to tokenize by hand.

transformers' convert_slow_tokenizer turns a SentencePiece BPE model into a tokenizer.json with model BPE,
`byte_fallback: true` and the 256 `<0xNN>` byte tokens, "▁" standing for a space, and a decoder
Replace("▁", " ") + ByteFallback + Fuse (+ Strip of the dummy prefix). How the "▁" gets in differs:
  Llama 1/2, Mistral v0.1: normalizer Prepend("▁") + Replace(" ", "▁"), no pre-tokenizer (the legacy layout);
  Mistral v0.3 and newer conversions: no normalizer, a Metaspace pre-tokenizer (prepend_scheme "first");
  Gemma: normalizer Replace(" ", "▁") only (its SentencePiece model adds no dummy prefix).
The vocabulary here is built the way those files lay it out (special tokens, then the byte tokens, then pieces)
with merges for a few words, so that every tokenization in the tests can be derived by hand from MERGES.

Run as a script, `python3 sp_tokenizers.py DIR` writes DIR/{llama2,mistral,gemma}/ tokenizer.json,
tokenizer_config.json and prompt_format.json (test/engine/sentencepieceTokenizer.test.ts reads them there)."""
import json
import sys
from pathlib import Path

SPACE = "\u2581"  # ▁

# Single-character pieces: ASCII letters, digits and some punctuation. Anything else (é, emoji; "\n" in
# Llama's vocabulary) is spelled with byte tokens.
CHARS = [SPACE] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + [chr(c) for c in range(ord("A"), ord("Z") + 1)] \
    + list("0123456789[]/.,!?'<>-")

# Priority order (first = merged first). With these: "▁the", "▁Hello" / "Hello", "▁world", "▁[" "INST" "]",
# "ca" (so "▁café" is "▁" "ca" "f" <0xC3> <0xA9>), "user", "model", and "▁▁" last.
MERGES = [
    (SPACE, "t"), ("h", "e"), (SPACE + "t", "he"),
    ("l", "l"), ("H", "e"), ("He", "ll"), ("Hell", "o"), (SPACE, "Hello"),
    ("o", "r"), ("w", "or"), ("wor", "l"), ("worl", "d"), (SPACE, "world"),
    (SPACE, "["), ("I", "N"), ("S", "T"), ("IN", "ST"),
    ("c", "a"),
    ("u", "s"), ("us", "e"), ("use", "r"),
    ("m", "o"), ("mo", "d"), ("mod", "e"), ("mode", "l"),
    (SPACE, SPACE),
]
GEMMA_MERGES = MERGES + [("\n", "\n")]  # Gemma has "\n" and "\n\n" pieces (Llama spells "\n" as <0x0A>)


def _added(token_id: int, content: str, special: bool = True) -> dict:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": special}


def _vocab(specials, chars, merges):
    pieces = list(specials) + [f"<0x{b:02X}>" for b in range(256)] + list(chars) + ["".join(m) for m in merges]
    assert len(set(pieces)) == len(pieces), "a piece is listed twice"
    return {p: i for i, p in enumerate(pieces)}


def _decoder(strip_dummy_prefix: bool) -> dict:
    steps = [{"type": "Replace", "pattern": {"String": SPACE}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}]
    if strip_dummy_prefix:
        steps.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return {"type": "Sequence", "decoders": steps}


def _bos_processor(bos: str, bos_id: int) -> dict:
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def _bpe(vocab, merges, as_pairs: bool) -> dict:
    # Older conversions (Llama 2) write merges as "a b" strings, newer ones (Gemma 2) as pairs: both occur.
    return {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
            "vocab": vocab, "merges": [list(m) for m in merges] if as_pairs else [" ".join(m) for m in merges]}


def _special_config(token: str) -> dict:
    return {"__type": "AddedToken", "content": token, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}


# meta-llama/Llama-2-7b-chat-hf's chat_template, verbatim.
LLAMA2_CHAT_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
    "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}"
    "{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
    "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")

# mistralai/Mistral-7B-Instruct-v0.1's chat_template, verbatim.
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")

# google/gemma-2-2b-it's chat_template, verbatim.
GEMMA_CHAT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

# What transformers renders for one user message with add_generation_prompt (the prompt as "{prompt}"), and so
# the prompt format `seer import` must write: (promptTemplate, addBos, specialTokens). test_sp_import.py checks
# hf_import.prompt_format against these; the engine's tests read them from prompt_format.json.
PROMPT_FORMATS = {
    "llama2": ("<s>[INST] {prompt} [/INST]", False, {"bos": "<s>", "eos": "</s>", "pad": "</s>"}),
    "mistral": ("<s>[INST] {prompt} [/INST]", False, {"bos": "<s>", "eos": "</s>", "pad": "</s>"}),
    "gemma": ("<bos><start_of_turn>user\n{prompt}<end_of_turn>\n<start_of_turn>model\n", False,
              {"bos": "<bos>", "eos": "<eos>", "pad": "<pad>"}),
}


def llama2_tokenizer():
    """(tokenizer.json, tokenizer_config.json) as Llama-2-7b-chat-hf ships them: the legacy layout."""
    specials = ["<unk>", "<s>", "</s>"]
    vocab = _vocab(specials, CHARS, MERGES)
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [_added(vocab[s], s) for s in specials],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": SPACE}, {"type": "Replace", "pattern": {"String": " "}, "content": SPACE}]},
        "pre_tokenizer": None,
        "post_processor": _bos_processor("<s>", vocab["<s>"]),
        "decoder": _decoder(strip_dummy_prefix=True),
        "model": _bpe(vocab, MERGES, as_pairs=False),
    }
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": _special_config("<s>"),
              "chat_template": LLAMA2_CHAT_TEMPLATE, "clean_up_tokenization_spaces": False,
              "eos_token": _special_config("</s>"), "legacy": False, "model_max_length": 1000000000000000019884624838656,
              "pad_token": None, "padding_side": "right", "sp_model_kwargs": {}, "tokenizer_class": "LlamaTokenizer",
              "unk_token": _special_config("<unk>"), "use_default_system_prompt": False}
    return tokenizer, config


def mistral_tokenizer():
    """The Llama-2 vocabulary in the newer layout (Mistral v0.3, `legacy: false` conversions): a Metaspace
    pre-tokenizer that adds "▁" only at the start of the text, no normalizer."""
    tokenizer, config = llama2_tokenizer()
    tokenizer = {**tokenizer, "normalizer": None,
                 "pre_tokenizer": {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "first", "split": False}}
    config = {**config, "chat_template": MISTRAL_CHAT_TEMPLATE, "tokenizer_class": "LlamaTokenizer"}
    return tokenizer, config


def gemma_tokenizer():
    """(tokenizer.json, tokenizer_config.json) laid out as gemma-2-2b-it's: no dummy prefix, "\n" a piece."""
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<start_of_turn>", "<end_of_turn>"]
    vocab = _vocab(specials, CHARS + ["\n"], GEMMA_MERGES)
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [_added(vocab[s], s, special=s not in ("<start_of_turn>", "<end_of_turn>")) for s in specials],
        "normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": SPACE},
        "pre_tokenizer": None,
        "post_processor": _bos_processor("<bos>", vocab["<bos>"]),
        "decoder": _decoder(strip_dummy_prefix=False),
        "model": _bpe(vocab, GEMMA_MERGES, as_pairs=True),
    }
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<bos>", "chat_template": GEMMA_CHAT_TEMPLATE,
              "clean_up_tokenization_spaces": False, "eos_token": "<eos>", "model_max_length": 1000000000000000019884624838656,
              "pad_token": "<pad>", "padding_side": "left", "sp_model_kwargs": {}, "spaces_between_special_tokens": False,
              "tokenizer_class": "GemmaTokenizer", "unk_token": "<unk>", "use_default_system_prompt": False}
    return tokenizer, config


TOKENIZERS = {"llama2": llama2_tokenizer, "mistral": mistral_tokenizer, "gemma": gemma_tokenizer}


def write(folder, name: str, with_prompt_format: bool = False) -> Path:
    """Writes tokenizer.json and tokenizer_config.json of TOKENIZERS[name] into `folder` (and, for the engine's
    tests, prompt_format.json: PROMPT_FORMATS[name] as seer.json's promptTemplate, addBos and specialTokens)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer, config = TOKENIZERS[name]()
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    if with_prompt_format:
        template, add_bos, special = PROMPT_FORMATS[name]
        (folder / "prompt_format.json").write_text(
            json.dumps({"promptTemplate": template, "addBos": add_bos, "specialTokens": special}, indent=2), encoding="utf-8")
    return folder


if __name__ == "__main__":
    for fixture in TOKENIZERS:
        write(Path(sys.argv[1]) / fixture, fixture, with_prompt_format=True)
