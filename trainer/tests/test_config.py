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
                                           ({"corpus": 5}, "corpus 5 is not one of [1, 2, 3, 4]"),
                                           ({"pretrain_corpus": 0}, "pretrain_corpus 0 is not one of [1, 2, 3, 4] or null"),
                                           ({"seer": {"pooling": "first"}}, "seer.pooling must be one of ['last', 'mean'], not 'first'"),
                                           ({"seer": {"retain_dialogue_share": 1}}, "seer.retain_dialogue_share must be at least 0 and leave at least one of the 8"),
                                           ({"seer": {"retain_dialogue_share": 0.95}}, "seer.retain_dialogue_share must be at least 0 and leave")])
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


def test_a_setting_added_later_is_recorded_only_when_used(tmp_path):
    """config_dict (fingerprints, seer.json) leaves seer.retain_dialogue_share out at 0, the computation from before it
    existed: the committed model's recorded config is the one its config file gives today (bar the device it ran on)."""
    from seer_trainer.config import config_dict
    raw = json.loads((REPO / "trainer/configs/default.json").read_text())
    recorded = json.loads((REPO / "models/default/seer.json").read_text())["training"]["config"]
    if raw["seer"].get("retain_dialogue_share", 0) == 0:
        assert "retain_dialogue_share" not in config_dict(load_config(REPO / "trainer/configs/default.json"))["seer"]
    ours = json.loads(json.dumps(config_dict(load_config(REPO / "trainer/configs/default.json"))))
    assert {k: v for k, v in ours.items() if k != "device"} == {k: v for k, v in recorded.items() if k != "device"}
    raw["seer"]["retain_dialogue_share"] = 0.25
    (tmp_path / "c.json").write_text(json.dumps(raw))
    assert config_dict(load_config(tmp_path / "c.json"))["seer"]["retain_dialogue_share"] == 0.25


def test_hf_train_refuses_the_dialogue_settings(tmp_path):
    path = tmp_path / "hf.json"
    path.write_text(json.dumps({"seer": {"retain_dialogue_share": 0.5}}))
    with pytest.raises(SeerInputError, match=re.escape("seer.retain_dialogue_share: build-default settings")):
        load_hf_config(path)
    path.write_text(json.dumps({"seer": {"seed": 7}}))
    with pytest.raises(SeerInputError, match=re.escape("seer.seed is a build-default setting")):
        load_hf_config(path)
