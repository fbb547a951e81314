"""Strings whose token ids the PyTorch reference (golden.py) holds, so the engine checks its tokenizer against ours:
edge cases, and a seeded sample of the generated concept prompts (ordinary English of every concept)."""
import random

from . import concepts

EDGE_CASES = [
    "", " ", "  ", "\n", "\t", "\r\n", "a", "A", "hello", " hello", "hello ", "Hello, world!",
    "naïve café résumé", "Ünïcödé", "Straße", "İstanbul", "Ελληνικά γράμματα", "Русский текст", "עברית",
    "مرحبا بالعالم", "हिन्दी", "日本語のテキスト", "中文分词测试", "한국어 문장", "ไทย",
    "😀", "👍🏽", "👨‍👩‍👧‍👦 family", "🇫🇷🇯🇵", "I ❤️ NY", "emoji at end 🚀", "🔥🔥🔥",
    "don't", "I'll", "we've", "they're", "it's", "She'd", "O'Brien", "rock 'n' roll",
    "12345", "3.14159", "1,000,000", "2026-11-26", "v1.2.3", "#hashtag", "@user", "e-mail@example.com",
    "https://example.com/path?q=1&x=2", "C:\\Users\\me", "/usr/share/wordnet",
    "def f(x):\n    return x * 2\n", "const a = [1, 2, 3];", "SELECT * FROM t WHERE id = 1;",
    "a  b   c    d", "trailing spaces   ", "   leading", "tab\tseparated\tvalues", "line1\nline2\n\nline4",
    "ALL CAPS SHOUTING", "MiXeD cAsE", "aaaaaaaaaaaaaaaa", "......", "?!?!", "—em dash–en dash", "“curly quotes”",
    "‘single’", "…", "½ ¼ ¾", "°C", "€100 £50 ¥1000", "x\u00a0y", "zero\u200bwidth", "a\u3000b",
    "User: How do I bake bread?\nAssistant:", "<|bos|>User: hi", "text with <|eos|> inside", "<|pad|><|pad|>",
]


def tokenization_cases(seed: int = 1, n_prompts: int = 200) -> list:
    """EDGE_CASES and `n_prompts` of the latest concept corpus's prompts (about 2 s to generate)."""
    train, test = concepts.generate(seed, version=concepts.CORPUS_VERSIONS[-1])
    return list(EDGE_CASES) + random.Random(seed).sample([e.prompt for e in train + test], n_prompts)
