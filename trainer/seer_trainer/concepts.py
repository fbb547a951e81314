"""The project's own concept corpus, generated compositionally from hand-written parts (no outside
rows): corpus_frames.py (phrasings shared by every concept), corpus_parts.py (each concept's tasks,
statements, topics, contexts and short prompts) and corpus_contrast.py (safe prompts that look
alarming, under their true safe concept, and a few non-English requests).

Four versions (config `corpus`): 1 is the ten concepts the committed default model was trained on; 2 adds two
safe concepts, entertainment and home_and_garden (corpus_parts_v2.py), where games, fiction, sport, pests
and DIY have a home (before, a safe prompt about them could only land on science or an unsafe concept),
and more contrast prompts (corpus_contrast.CONTRAST_ADDED). Rebuilt on version 2, the model flagged fewer
safe prompts as unsafe but lost everyday accuracy: the new concepts took everyday prompts from the old ones.
3 is contrast without new concepts: the ten concepts of version 1, version 1's contrast sets, CONTRAST_ADDED,
and corpus_parts_v3.py, written for what a read-out of the committed model showed (its states barely
separate safe-but-alarming prompts from unsafe ones, and it misses recurring kinds of prompts): more safe
prompts that look alarming under their true safe concept (CONTRAST_V3, "contrast-*" families), everyday
prompts it misreads and unsafe prompts phrased as it misses them, each under its true concept
(COVERAGE_V3, "coverage-*" families), and more non-English requests. Safe concepts give more of their
rows to contrast (MIX_SAFE_V3). 4 is version 3 plus version 2's two safe concepts with their own parts and
contrast sets (MIX_SAFE_V2 for those two): version 3's coverage with version 2's homes for the safe prompts that
fit none of the first four safe concepts. Versions 1 and 2 generate exactly what they did (a test pins them),
so the committed model is always reproducible from the tree.

A family is one way of writing prompts for a concept: its frames (templates) x its values (what fills
them). Held-out split: in every family, every HOLD_FRAME-th frame and every HOLD_VALUE-th value never
appear in training; test prompts always use a held-out frame (or, for one-frame families, a held-out
item), so the test split is disjoint from training by template, and, after normalisation (case,
punctuation, spacing), by surface string. Everything is drawn from one seeded generator: the same
seed gives the same corpus."""
import random
import re
from dataclasses import dataclass

from . import corpus_frames as frames
from .corpus_contrast import CONTRAST, CONTRAST_ADDED, MULTILINGUAL
from .corpus_parts import PARTS
from .corpus_parts_v2 import CONTRAST_V2, GENERIC_RESPONSES_V2, MULTILINGUAL_V2, PARTS_V2, RESPONSES_V2
from .corpus_parts_v3 import CONTRAST_V3, COVERAGE_V3, MULTILINGUAL_V3

UNSAFE = ["violence", "privacy_violation", "discrimination", "sexual_content", "unethical_behavior", "self_harm"]
SAFE = ["cooking", "programming", "science", "travel"]
CONCEPTS = UNSAFE + SAFE  # corpus version 1
SAFE_ADDED = ["entertainment", "home_and_garden"]  # corpus versions 2 and 4 (version 3 has the ten of version 1)
CORPUS_VERSIONS = (1, 2, 3, 4)
HOLD_FRAME, HOLD_VALUE = 6, 7
TRAIN_PER_CONCEPT = 6000
TEST_PER_CONCEPT = 100
TYPO_RATE, CASUAL_RATE = 0.08, 0.07

# Share of a concept's training prompts per family; what a family cannot fill goes to "request".
# Short and multilingual families are small and always taken whole.
MIX_UNSAFE = {"request": 0.40, "topic": 0.17, "statement": 0.17, "long": 0.18}
MIX_SAFE = {"request": 0.28, "topic": 0.22, "statement": 0.05, "long": 0.12, "contrast-request": 0.17,
            "contrast-topic": 0.08, "contrast-statement": 0.04, "contrast-long": 0.04}
# Version 2 has twice the contrast topic families (impossible questions about groups, public figures, landmarks'
# addresses, fictional characters): they get a bigger share, taken from the concept's plain requests.
MIX_SAFE_V2 = {**MIX_SAFE, "request": 0.22, "contrast-topic": 0.14}
# Version 3: the contrast families (three sets for science and travel, two for cooking and programming) take
# 0.40 of a safe concept's rows instead of 0.33, and the coverage families (everyday prompts the default model
# misread, under their true concept) 0.14; both are taken from the concept's own requests, topics and long prompts.
MIX_SAFE_V3 = {"request": 0.18, "topic": 0.16, "statement": 0.04, "long": 0.08,
               "contrast-request": 0.18, "contrast-topic": 0.12, "contrast-statement": 0.05, "contrast-long": 0.05,
               "coverage-request": 0.06, "coverage-topic": 0.05, "coverage-statement": 0.01, "coverage-long": 0.02}
# An unsafe concept's coverage families (phrasings the default model missed) get 0.27 of its rows.
MIX_UNSAFE_V3 = {"request": 0.30, "topic": 0.14, "statement": 0.15, "long": 0.14,
                 "coverage-request": 0.12, "coverage-topic": 0.07, "coverage-statement": 0.04, "coverage-long": 0.04}

RESPONSES = {
    "violence": ["I can't help you {t}. Violence causes real injuries; if you are angry, step away and talk to someone you trust.",
                 "No. Planning to {t} could seriously hurt someone. If there is a conflict, contact local authorities or a mediator."],
    "privacy_violation": ["I can't help you {t}. People have a right to privacy, and tracking or exposing them without consent is harmful and often illegal.",
                          "I won't help {t}. If you have a legitimate concern, go through official legal channels."],
    "discrimination": ["I won't {t}. Treating people as inferior because of who they are is discrimination and causes real harm.",
                       "I can't help with that. Requests to {t} target people for their identity; I can share facts about fair treatment instead."],
    "sexual_content": ["I can't {t}; I don't write sexually explicit material.",
                       "That request to {t} asks for explicit sexual content, which I don't produce. I can help with a non-explicit story instead."],
    "unethical_behavior": ["I can't help you {t}. It is dishonest and could lead to fines, job loss or criminal charges.",
                           "Trying to {t} is unethical. Consider being honest and asking for help or an extension instead."],
    "self_harm": ["I'm really sorry you're feeling this way. I can't help you {t}, but you deserve support: please reach out to a crisis line or someone you trust right now.",
                  "It sounds like you are in a lot of pain. Please don't {t}; talking to a doctor, a friend or a crisis counselor can help."],
    "cooking": ["Sure! To {t}, gather fresh ingredients, preheat your pan or oven, season well and taste as you go.",
                "Here is a simple way to {t}: prep everything first, cook over medium heat, and let it rest before serving."],
    "programming": ["Sure. To {t}, start with a small function, add tests for edge cases, and keep input parsing separate from logic.",
                    "Here is an approach to {t}: read the input, validate it, process it in a loop and return a typed result."],
    "science": ["Great question. To {t}, start from the basic principles, then look at measurements and the models that explain them.",
                "Here is an overview to {t}: the key idea, the evidence behind it, and the open questions scientists study today."],
    "travel": ["Happy to help you {t}! Pick your dates early, compare prices, and check entry requirements before you book.",
               "To {t}, plan a rough itinerary, book transport and stays ahead, and keep a day free for surprises."],
    **RESPONSES_V2,
}
# For prompts without a task to echo (statements, questions about a topic, short and non-English prompts).
GENERIC_RESPONSES = {
    "violence": "I can't help with hurting anyone. If you are angry or in danger, step away and contact someone you trust or the authorities.",
    "privacy_violation": "I can't help with getting someone's private information or watching them without consent.",
    "discrimination": "I won't write or support demeaning claims about a group of people; I can share facts about fair treatment instead.",
    "sexual_content": "I don't produce sexually explicit content. I can help with a non-explicit story instead.",
    "unethical_behavior": "I can't help with cheating, lying or fraud; being honest usually costs less in the end.",
    "self_harm": "I'm really sorry you're going through this. You deserve support: please reach out to a crisis line or someone you trust right now.",
    "cooking": "Happy to help in the kitchen: here is a simple plan with ingredients, steps and timings.",
    "programming": "Let's work through it: here is what usually causes this, a small example, and how to test it.",
    "science": "Good question. Here is the short explanation, the evidence behind it, and where to read more.",
    "travel": "Happy to help you plan: when to go, how to get around, where to stay and what not to miss.",
    **GENERIC_RESPONSES_V2,
}
# Every concept's own parts and non-English requests, whichever version added it.
ALL_PARTS = {**PARTS, **PARTS_V2}
ALL_MULTILINGUAL = {**MULTILINGUAL, **MULTILINGUAL_V2}


@dataclass(frozen=True)
class Example:
    concept: str
    prompt: str
    response: str
    kind: str = ""      # family: request, statement, topic, long, short, multilingual; "contrast-*" = safe but alarming-looking;
    #                     "coverage-*" = (version 3) a kind of prompt the default model misread, under its true concept
    template: str = ""  # the frame (or, for one-frame families, the item) the prompt was written from


@dataclass
class Family:
    kind: str
    template_id: str     # frames of the same list share ids across concepts ("request:3")
    frames: list
    values: list
    contexts: list = None  # long prompts: a first sentence per prompt

    def held_frames(self):
        return _held(len(self.frames), HOLD_FRAME)

    def held_values(self):
        return _held(len(self.values), HOLD_VALUE)


def _held(n, every):
    """Indices held out of training: every `every`-th, and at least one when there are two or more."""
    held = {i for i in range(n) if i % every == every - 1}
    return held or ({n - 1} if n > 1 else set())


def normalise(text: str) -> str:
    """The surface form two prompts are compared by: lower case, letters and digits, single spaces."""
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def _capital(s):
    return s[:1].upper() + s[1:]


def _fill(frame, value):
    if "{s}" in frame or "{S}" in frame:
        if not frame[:1].islower():  # texting frames keep the lower-case "i"
            value = re.sub(r"\bi\b", "I", value)
        return frame.replace("{s}", value).replace("{S}", _capital(value))
    return (frame.replace("{t}", value).replace("{n}", value).replace("{N}", _capital(value)))


def concept_lists(version: int = 1):
    """(concepts, safe concepts) of corpus `version`, in bank order."""
    if version not in CORPUS_VERSIONS:
        raise ValueError(f"corpus version {version!r} is not one of {list(CORPUS_VERSIONS)}")
    safe = SAFE + (SAFE_ADDED if version in (2, 4) else [])
    return UNSAFE + safe, safe


def _families(concept, version):
    parts = ALL_PARTS[concept]
    fams = _phrasings(concept, parts, "", parts["contexts"])
    # version 3's non-English requests extend the list (the first ones keep their indices, so their split)
    multilingual = ALL_MULTILINGUAL[concept] + (MULTILINGUAL_V3.get(concept, []) if version in (3, 4) else [])
    fams.append(Family("multilingual", f"{concept}.multilingual", ["{n}"], multilingual))
    contrasts = [CONTRAST] + {1: [], 2: [CONTRAST_ADDED, CONTRAST_V2], 3: [CONTRAST_ADDED, CONTRAST_V3],
                              4: [CONTRAST_ADDED, CONTRAST_V3, CONTRAST_V2]}[version]
    for i, contrast in enumerate(c for c in contrasts if concept in c):
        # a second set's topic and short families need their own template ids
        fams += _phrasings(concept, contrast[concept], "contrast-", parts["contexts"], f"{i}" if i else "")
    if version in (3, 4) and concept in COVERAGE_V3:
        fams += _phrasings(concept, COVERAGE_V3[concept], "coverage-", parts["contexts"])
    return fams


def _phrasings(concept, p, tag, contexts, set_id=""):
    """One set of families (requests, statements, topics, long and short prompts) from parts `p`; `tag` names
    the set ("" for the concept's own prompts, "contrast-" for safe prompts that look like another concept,
    "coverage-" for version 3's prompts of kinds the default model misread, safe or unsafe)."""
    fams = [Family(f"{tag}request", "request", frames.REQUEST_FRAMES, p["tasks"]),
            Family(f"{tag}statement", "statement", frames.STATEMENT_FRAMES, p["statements"])]
    for i, (fr, vals) in enumerate(p["topics"]):
        fams.append(Family(f"{tag}topic", f"{concept}.{tag}{set_id}topic{i}", fr, vals))
    fams.append(Family(f"{tag}long", "long", frames.REQUEST_FRAMES, p["tasks"], contexts))
    fams.append(Family(f"{tag}short", f"{concept}.{tag}{set_id}short", ["{n}"], p["short"]))
    return fams


def _noisy(text, rng):
    """People type fast: a seeded share of prompts gets a typo, another share is lower-cased without end punctuation."""
    r = rng.random()
    if r < TYPO_RATE:
        words = text.split(" ")
        spots = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
        if spots:
            i = rng.choice(spots)
            w, j = words[i], rng.randrange(1, len(words[i]) - 1)
            op = rng.randrange(3)
            words[i] = (w[:j] + w[j + 1] + w[j] + w[j + 2:] if op == 0 else   # swap two letters
                        w[:j] + w[j + 1:] if op == 1 else                       # drop one
                        w[:j] + w[j] + w[j:])                                   # double one
            return " ".join(words)
    elif r < TYPO_RATE + CASUAL_RATE:
        return text.lower().rstrip(".?!")
    return text


def _draw(fam, frame_ids, value_ids, n, rng, seen, training):
    """Up to n new prompts of a family from the given frame and value indices, as (text, value, template);
    a long prompt's first sentence is a training context in training, any context in the test split."""
    held_contexts = _held(len(fam.contexts), HOLD_VALUE) if fam.contexts and training else set()
    context_ids = [i for i in range(len(fam.contexts or [])) if i not in held_contexts]
    single = len(fam.frames) == 1
    out, tries, drawn = [], 0, set()
    if not frame_ids or not value_ids:
        return out
    while len(out) < n and tries < 30 * n + 100:
        tries += 1
        fi, vi = rng.choice(frame_ids), rng.choice(value_ids)
        ci, ti = (rng.choice(context_ids), rng.randrange(len(frames.TRAILERS))) if fam.contexts else (0, 0)
        if (fi, vi, ci, ti) in drawn:  # a combination is written once: typos must not pad a small family
            continue
        drawn.add((fi, vi, ci, ti))
        value = fam.values[vi]
        text = _fill(fam.frames[fi], value)
        template = f"{fam.template_id}:item{vi}" if single else f"{fam.template_id}:{fi}"
        if fam.contexts:
            trailer = frames.TRAILERS[ti]
            text = _capital(text) + ("." if trailer and text[-1].isalnum() else "")
            text = f"{fam.contexts[ci]} {text}{trailer}"
        if fam.kind != "multilingual":
            text = _noisy(text, rng)
        key = normalise(text)
        if key and key not in seen:
            seen.add(key)
            out.append((text, value, template))
    return out


def _example(concept, kind, text, value, template, rng):
    if kind.endswith("request") or kind.endswith("long"):
        response = rng.choice(RESPONSES[concept]).format(t=value)
    else:
        response = GENERIC_RESPONSES[concept]
    return Example(concept, text, response, kind, template)


def generate(seed: int = 0, test_per_concept: int = TEST_PER_CONCEPT, train_per_concept: int = TRAIN_PER_CONCEPT,
             version: int = 1):
    """Returns (train, test) lists of Examples of corpus `version`: train_per_concept training prompts per concept
    (fewer only if the parts run out) and test_per_concept held-out prompts per concept, each family in proportion."""
    rng = random.Random(seed)
    concepts, safe = concept_lists(version)
    train_by, pools = {}, {}
    for c in concepts:
        if version == 4 and c in SAFE_ADDED:
            mix = MIX_SAFE_V2  # version 2's concepts as version 2 wrote them (no coverage families)
        elif version in (3, 4):
            mix = MIX_SAFE_V3 if c in safe else MIX_UNSAFE_V3
        else:
            mix = (MIX_SAFE_V2 if version >= 2 else MIX_SAFE) if c in safe else MIX_UNSAFE
        fams = _families(c, version)
        rows, held, seen = [], [], set()
        # small families first (taken whole), then the mixed ones, then "request" fills what is left
        order = [f for f in fams if f.kind not in mix] + [f for f in fams if f.kind in mix and f.kind != "request"] \
            + [f for f in fams if f.kind == "request"]
        share_count = {k: sum(1 for f in fams if f.kind == k) for k in mix}
        for fam in order:
            frame_in = [i for i in range(len(fam.frames)) if len(fam.frames) == 1 or i not in fam.held_frames()]
            value_in = [i for i in range(len(fam.values)) if i not in fam.held_values()]
            if fam.kind == "request":
                want = train_per_concept - len(rows)
            elif fam.kind in mix:
                want = round(train_per_concept * mix[fam.kind] / share_count[fam.kind])
            else:
                want = len(frame_in) * len(value_in)
            rows += [(fam.kind, *d) for d in _draw(fam, frame_in, value_in, want, rng, seen, True)]
            if len(fam.frames) == 1:  # one frame: held-out items
                held_f, held_v = [0], sorted(fam.held_values())
            else:  # held-out frames, with any value (held-out values are never in training either)
                held_f, held_v = sorted(fam.held_frames()), list(range(len(fam.values)))
            held.append((fam, held_f, held_v))
        train_by[c] = [_example(c, k, t, v, tpl, rng) for k, t, v, tpl in rows]
        pools[c] = held
    train = [e for c in concepts for e in train_by[c]]
    test = _test_split(pools, train_by, {normalise(e.prompt) for e in train}, test_per_concept, rng)
    return _drop_ambiguous(train, test)


def _test_split(pools, train_by, seen_train, per_concept, rng):
    """Held-out prompts per concept, each family's share as in training (at least one from every family)."""
    test, seen = [], set(seen_train)
    for c in pools:
        counts = {}
        for e in train_by[c]:
            counts[e.kind] = counts.get(e.kind, 0) + 1
        total = sum(counts.values())
        rows = []
        for fam, held_f, held_v in pools[c]:
            kinds_like = sum(1 for f, _, _ in pools[c] if f.kind == fam.kind)
            want = max(1, round(per_concept * counts.get(fam.kind, 0) / total / kinds_like))
            rows += [(fam.kind, *d) for d in _draw(fam, held_f, held_v, want, rng, seen, False)]
        rng.shuffle(rows)
        test += [_example(c, k, t, v, tpl, rng) for k, t, v, tpl in _every_kind_kept(rows, per_concept)]
    return test


def _every_kind_kept(rows, n):
    """The first n rows, with a row of every kind the cut would drop swapped in for one of the commonest kind
    (a concept with many families can draw more than n rows; each kind must still be measured)."""
    kept = rows[:n]
    for missing in dict.fromkeys(r[0] for r in rows[n:] if r[0] not in {k[0] for k in kept}):
        counts = {}
        for r in kept:
            counts[r[0]] = counts.get(r[0], 0) + 1
        commonest = max(counts, key=counts.get)
        drop = max(i for i, r in enumerate(kept) if r[0] == commonest)
        kept = kept[:drop] + kept[drop + 1:] + [next(r for r in rows[n:] if r[0] == missing)]
    return kept


def _drop_ambiguous(train, test):
    """A surface form written under two concepts says nothing about either: drop it from both."""
    owners = {}
    for e in train + test:
        owners.setdefault(normalise(e.prompt), set()).add(e.concept)
    bad = {k for k, v in owners.items() if len(v) > 1}
    return ([e for e in train if normalise(e.prompt) not in bad], [e for e in test if normalise(e.prompt) not in bad])


def per_concept_sample(examples, per_concept: int, seed: int, concepts=CONCEPTS):
    """A fixed, seeded sample of per_concept examples of each of `concepts`, in that order."""
    rng = random.Random(seed)
    return [e for c in concepts for e in rng.sample([x for x in examples if x.concept == c], per_concept)]
