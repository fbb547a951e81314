"""Settings come from the config: every section of a config file reaches its dataclass, and the
held-out probe of the SEER log never shares a prompt with training."""
import json
import re

import pytest

from conftest import REPO
from seer_trainer import concepts
from seer_trainer.build import held_out_probe
from seer_trainer.config import load_config, load_hf_config
from seer_trainer.errors import SeerInputError


def test_every_key_of_the_default_config_is_read():
    raw = json.loads((REPO / "trainer/configs/default.json").read_text())
    cfg = load_config(REPO / "trainer/configs/default.json")
    for section, values in raw.items():
        got = getattr(cfg, section)
        for key, value in (values.items() if isinstance(values, dict) else [(None, values)]):
            v = got if key is None else getattr(got, key)
            assert (list(v) if isinstance(v, tuple) else v) == value, f"{section}.{key}"


def test_hf_config_sections_keep_their_own_defaults(tmp_path):
    path = tmp_path / "hf.json"
    path.write_text(json.dumps({"prompt": {"add_bos": False}, "seer": {"steps": 3}}))
    cfg = load_hf_config(path)
    assert (cfg.prompt.add_bos, cfg.prompt.max_tokens, cfg.seer.steps) == (False, 256, 3)
    assert cfg.prompt.template == load_config(REPO / "trainer/configs/default.json").prompt.template


@pytest.mark.parametrize("data, message", [({"seer": {"warm_up": 3}}, "unknown key(s) ['warm_up']"),
                                           ({"prompt": "User: {prompt}"}, "prompt: expected a JSON object"),
                                           ({"corpus": 4}, "corpus 4 is not one of [1, 2, 3]"),
                                           ({"pretrain_corpus": 0}, "pretrain_corpus 0 is not one of [1, 2, 3] or null"),
                                           ({"seer": {"pooling": "first"}}, "seer.pooling must be one of ['last', 'mean'], not 'first'")])
def test_bad_config_names_the_key(tmp_path, data, message):
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SeerInputError, match=re.escape(message)):
        load_config(path)


@pytest.mark.parametrize("corpus", concepts.CORPUS_VERSIONS)
def test_probe_prompts_are_held_out(corpus):
    cfg = load_config(REPO / "trainer/configs/default.json")
    cfg.corpus = corpus
    train, test = concepts.generate(cfg.seed, version=corpus)
    probe = held_out_probe(test, cfg)
    assert len(probe) == cfg.probe_per_concept * len(concepts.concept_lists(corpus)[0])
    assert not {e.prompt for e in probe} & {e.prompt for e in train}
    assert [e.prompt for e in held_out_probe(test, cfg)] == [e.prompt for e in probe]  # fixed, seeded
