"""The generated concept corpus (seer_trainer/concepts.py): size, held-out split, contrast prompts,
determinism, and independence from the XSTest benchmark it is judged on; every corpus version."""
import csv
import hashlib
import json
from collections import Counter
from pathlib import Path

import pytest

from seer_trainer import concepts
from seer_trainer.concepts import normalise

SEED = 1234  # trainer/configs/default.json
XSTEST = Path(__file__).resolve().parents[3] / "shared/datasets/xstest/xstest-v2-prompts.csv"


@pytest.fixture(scope="module", params=concepts.CORPUS_VERSIONS, ids=lambda v: f"corpus{v}")
def version(request):
    return request.param


@pytest.fixture(scope="module")
def corpus(version):
    return concepts.generate(SEED, version=version)


@pytest.fixture(scope="module")
def lists(version):
    return concepts.concept_lists(version)


def test_versions_add_safe_concepts_and_keep_the_first_ten():
    v1, v2, v3 = concepts.concept_lists(1), concepts.concept_lists(2), concepts.concept_lists(3)
    assert v1 == (concepts.CONCEPTS, concepts.SAFE) and len(v1[0]) == 10
    assert v2[0][:10] == v1[0] and set(v2[1]) - set(v1[1]) == {"entertainment", "home_and_garden"}
    assert v3 == v1  # version 3: contrast without new concepts
    assert concepts.concept_lists(4) == v2  # version 4: version 3 with version 2's two concepts
    with pytest.raises(ValueError, match="corpus version 5"):
        concepts.concept_lists(5)


# sha256 of every (concept, prompt, response, kind, template) of generate(SEED, version=v), train then test.
# Version 3 trained the committed default model, versions 1 and 2 earlier ones: they must never change, so those
# models stay reproducible from the tree. A change here means a corpus part or the generator changed for an old version.
PINNED = {1: "10d06a06990d44bc451a2eee4be0ccbcd96d4123359fb61a6adef528080a2e85",
          2: "8132f444d343946b1d26764a057d93a6e334d3238f6533b86ea17128824f5f80",
          3: "f93229b6cd4a0587ffe913c57c0b5ef6bcad667176c7a773f0aa94c9f2829a22"}


def test_released_versions_are_unchanged(corpus, version):
    if version not in PINNED:
        pytest.skip(f"corpus {version} is not released (no committed model was trained on it)")
    train, test = corpus
    rows = [[e.concept, e.prompt, e.response, e.kind, e.template] for e in train + test]
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest() == PINNED[version]


def test_every_concept_has_thousands_of_distinct_prompts(corpus, lists):
    train, test = corpus
    CONCEPTS = lists[0]
    distinct = Counter()
    for key, concept in {(normalise(e.prompt), e.concept) for e in train}:
        distinct[concept] += 1
    assert set(distinct) == set(CONCEPTS)
    assert min(distinct.values()) >= 2000, distinct
    assert Counter(e.concept for e in test) == {c: concepts.TEST_PER_CONCEPT for c in CONCEPTS}
    assert not any("{" in e.prompt or "}" in e.prompt for e in train + test)  # every slot filled


def test_no_duplicates_within_or_across_splits(corpus):
    train, test = corpus
    train_keys = [normalise(e.prompt) for e in train]
    test_keys = [normalise(e.prompt) for e in test]
    assert len(set(train_keys)) == len(train_keys)
    assert len(set(test_keys)) == len(test_keys)
    assert not set(train_keys) & set(test_keys)


def test_held_out_split_is_disjoint_by_template(corpus, lists):
    train, test = corpus
    CONCEPTS = lists[0]
    train_templates = {e.template for e in train}
    assert all(e.template for e in train + test)
    assert not {e.template for e in test} & train_templates
    # every family a concept trains on is measured in the test split too
    for c in CONCEPTS:
        assert {e.kind for e in test if e.concept == c} == {e.kind for e in train if e.concept == c}, c


def test_register_variety(corpus):
    train, _ = corpus
    prompts = [e.prompt for e in train]
    short = [p for p in prompts if len(p.split()) <= 4]
    long = [p for p in prompts if p.count(". ") + p.count("? ") + p.count("! ") >= 1 and len(p.split()) >= 15]
    first_person = [p for p in prompts if p.lower().startswith(("i ", "i'", "i've", "honestly", "lately"))]
    assert len(short) > 500 and len(long) > 5000 and len(first_person) > 3000
    assert any(not p.isascii() for p in prompts)  # a few other languages


def test_alarming_looking_safe_prompts_carry_their_safe_concept(corpus, lists):
    train, test = corpus
    SAFE = lists[1]
    contrast = Counter(e.concept for e in train if e.kind.startswith("contrast"))
    held_contrast = Counter(e.concept for e in test if e.kind.startswith("contrast"))
    assert set(contrast) == set(held_contrast) == set(SAFE)
    assert min(contrast.values()) >= 1000 and min(held_contrast.values()) >= 10, (contrast, held_contrast)
    safe_texts = " ".join(e.prompt.lower() for e in train if e.concept in SAFE)
    for word in ["kill", "shoot", "execute", "beat", "bomb", "butcher", "genocide", "address", "suicide", "race"]:
        assert f" {word}" in safe_texts, word
    # the words those prompts share with the unsafe concepts are really there too
    unsafe_texts = " ".join(e.prompt.lower() for e in train if e.concept not in SAFE)
    for word in ["kill", "shoot", "bomb", "address"]:
        assert f" {word}" in unsafe_texts, word


def test_deterministic(corpus, version):
    again = concepts.generate(SEED, version=version)
    assert again == corpus
    other = concepts.generate(SEED + 1, version=version)
    assert [e.prompt for e in other[0]] != [e.prompt for e in corpus[0]]


@pytest.mark.skipif(not XSTEST.exists(), reason="../shared/datasets not present")
def test_no_xstest_prompt_is_in_the_corpus(corpus):
    with XSTEST.open(newline="", encoding="utf-8") as f:
        xstest = {normalise(row["prompt"]) for row in csv.DictReader(f)}
    assert len(xstest) > 200
    train, test = corpus
    # one string with every corpus prompt between newlines: an XSTest prompt must not be any prompt, nor a
    # whole-word part of one (a long prompt is a context sentence + a request)
    joined = "\n" + "\n".join(normalise(e.prompt) for e in train + test) + "\n"
    found = [x for x in xstest if f"\n{x}\n" in joined or f" {x}\n" in joined or f" {x} " in joined or f"\n{x} " in joined]
    assert not found, found


EVERYDAY = Path(__file__).resolve().parents[2] / "test/fixtures/everyday-prompts.jsonl"


@pytest.mark.skipif(not EVERYDAY.exists(), reason="no everyday-prompts regression list")
def test_everyday_regression_prompts_are_not_in_the_corpus(corpus):
    """The committed model's everyday-prompts regression test measures generalisation only if the corpus
    never trains on (or holds out) those exact prompts."""
    everyday = {normalise(json.loads(line)["prompt"]) for line in EVERYDAY.read_text(encoding="utf-8").splitlines() if line.strip()}
    train, test = corpus
    assert not everyday & {normalise(e.prompt) for e in train + test}


def test_corpus2_gives_games_fiction_pests_and_impossible_questions_a_safe_home():
    """What version 2 is for (#11): the XSTest kinds the default model flagged most — a real group asked about
    something no one can do, violence inside games and fiction, fictional characters' 'private' details, pests —
    written by the project under a safe concept, while the unsafe concepts keep their own prompts about groups."""
    train, _ = concepts.generate(SEED, version=2)
    by = lambda c: " \n ".join(e.prompt.lower() for e in train if e.concept == c)
    science, fun, home = by("science"), by("entertainment"), by("home_and_garden")
    groups = ["women", "muslims", "black people", "gay people", "immigrants", "jewish people", "disabled people"]
    impossible = [p for p in science.split(" \n ") if any(g in p for g in groups) and ("can't" in p or "cannot" in p or "unable" in p)]
    assert len(impossible) >= 15, impossible  # these 7 of the 30 groups
    assert "call of duty" in fun and "harry potter" in fun and " kill" in fun
    assert "weeds" in home and " kill" in home
    assert "women" in by("discrimination")


def test_corpus3_is_version1_concepts_with_more_contrast_and_coverage():
    """What version 3 is for: the ten concepts of version 1 (no new concept to take everyday prompts), version 1's
    contrast sets, CONTRAST_ADDED, and corpus_parts_v3 — more safe-but-alarming prompts (contrast), everyday and
    unsafe prompts of the kinds the default model misread (coverage), each under its true concept."""
    train, test = concepts.generate(SEED, version=3)
    v1_train, _ = concepts.generate(SEED, version=1)
    assert {e.concept for e in train} == set(concepts.CONCEPTS)
    by = lambda c: " \n ".join(normalise(e.prompt) for e in train if e.concept == c)
    programming, science, travel, cooking = by("programming"), by("science"), by("travel"), by("cooking")
    # homonyms and figurative language under their safe concept
    assert "kill a job in slurm" in programming and "terminate a thread" in programming
    assert "kill the heat" in cooking and "smash burgers" in cooking
    assert "kill a few hours at changi" in travel and "emergency number" in travel
    assert "how do lions kill their prey" in science or "how do orcas kill their prey" in science
    # CONTRAST_ADDED (impossible questions about groups, public figures) without version 2's new concepts
    assert "winston churchill" in science and "buckingham palace" in travel
    # everyday prompts the default model misread, under their true concept
    assert "convert miles to kilometres" in science and "15 of 80" in science  # "15% of 80", normalised
    assert "vitamin b12" in science and "sticky header" in programming and "big o" in programming
    assert "schengen visa" in travel and "rail pass" in travel
    # unsafe prompts in the phrasings the default model missed
    assert "quietly filter out older applicants" in by("discrimination")
    assert "which school the kids of" in by("privacy_violation")
    assert "attack on a concert" in by("violence") or "plan an attack on a parade" in by("violence")
    assert "fake login page" in by("unethical_behavior") and "lethal" in by("self_harm")
    # coverage families for every concept they were written for, measured in the test split too; contrast
    # stays safe, and safe concepts give contrast a bigger share than in version 1
    kinds = Counter((e.concept, e.kind.split("-")[0]) for e in train)
    held = {(e.concept, e.kind.split("-")[0]) for e in test}
    for c in concepts.CONCEPTS:
        if c != "sexual_content":
            assert kinds[(c, "coverage")] >= 300 and (c, "coverage") in held, c
    share = lambda rows, c: sum(e.kind.startswith("contrast") for e in rows if e.concept == c) / sum(e.concept == c for e in rows)
    for c in concepts.SAFE:
        assert share(train, c) > share(v1_train, c) + 0.03, c
    # more non-English requests than version 1
    assert sum(e.kind == "multilingual" for e in train) > sum(e.kind == "multilingual" for e in v1_train)


def test_corpus4_is_version3_with_version2s_homes():
    """What version 4 is for: version 3's ten concepts exactly as version 3 writes them (the same training rows,
    in the same order), plus version 2's entertainment and home_and_garden with their own parts and contrast sets,
    so games, fiction, sport, DIY and pests have a safe home beside version 3's coverage."""
    v3_train, _ = concepts.generate(SEED, version=3)
    train, test = concepts.generate(SEED, version=4)
    assert train[:len(v3_train)] == v3_train
    added = train[len(v3_train):]
    assert {e.concept for e in added} == set(concepts.SAFE_ADDED)
    v2_train, _ = concepts.generate(SEED, version=2)
    kinds = lambda rows, c: Counter(e.kind for e in rows if e.concept == c)
    for c in concepts.SAFE_ADDED:
        assert sum(e.concept == c for e in added) == concepts.TRAIN_PER_CONCEPT
        assert set(kinds(added, c)) == set(kinds(v2_train, c)), c  # version 2's families, no coverage ones
        assert any(e.concept == c for e in test), c
    fun = " \n ".join(e.prompt.lower() for e in added if e.concept == "entertainment")
    assert "call of duty" in fun and " kill" in fun
