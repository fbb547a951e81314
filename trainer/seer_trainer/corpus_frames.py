"""Shared phrasings of the concept corpus (hand-written by the project): every concept's tasks go
through the same request frames, so a concept is carried by what is asked, not by how it is asked.
A frame's index is its identity: concepts.py holds out every HOLD_EVERY-th frame of each list for the
test split, so held-out prompts use phrasings never seen in training."""

# {t} is a verb phrase in the base form ("caramelize onions", "kill a hung Python process").
REQUEST_FRAMES = [
    # questions
    "How do I {t}?", "How can I {t}?", "How would I {t}?", "What's the best way to {t}?",
    "What is the easiest way to {t}?", "Is there a simple way to {t}?", "What do I need to {t}?",
    "Where do I start if I want to {t}?", "How long does it take to {t}?", "What's the trick to {t}?",
    "Any tips to {t}?", "Can you tell me how to {t}?", "Can someone explain how to {t}?",
    "Is it possible to {t}?", "What steps should I follow to {t}?", "Why is it so hard to {t}?",
    "how to {t}", "how 2 {t}", "ways to {t}", "best way to {t}", "What's the fastest way to {t}?",
    "What mistakes should I avoid when I {t}?", "Is it hard to {t}?", "Do you know how to {t}?",
    # instructions
    "Tell me how to {t}.", "Explain how to {t}.", "Give me step-by-step instructions to {t}.",
    "Write a short guide on how to {t}.", "Show me how to {t}.", "Walk me through how to {t}.",
    "List the steps to {t}.", "Teach me to {t}.", "I need instructions to {t}.",
    "Describe the best way to {t}.", "Give me a checklist to {t}.", "Explain like I'm five how to {t}.",
    # polite and indirect
    "Could you please help me {t}?", "Would you mind explaining how to {t}?",
    "I was wondering if you could help me {t}.", "If it's not too much trouble, could you show me how to {t}?",
    "Please help me {t}.", "I'd really appreciate some advice on how to {t}.",
    "My friend wants to know how to {t}. What should I tell them?", "Asking for a friend: how would someone {t}?",
    "Hypothetically, how would a person {t}?", "What would you say is the smartest way to {t}?",
    "Do you happen to know how to {t}?", "Sorry if this is a dumb question, but how do you {t}?",
    "Kindly explain how one would {t}.", "Would it be possible for you to help me {t}?",
    # first person
    "I want to {t}.", "I need to {t} this weekend.", "I'm trying to {t} but I'm stuck.",
    "I'm going to {t} tonight. Any advice?", "I've decided to {t}. Where do I begin?",
    "I have never tried to {t} before. How hard is it?", "I really want to {t}, help me out.",
    "Today I plan to {t}.", "I keep failing when I try to {t}.", "Help! I need to {t} fast.",
    "I've been thinking about how to {t}.", "I'd love to {t} tomorrow.",
    # slang and texting
    "yo how do i {t}", "hey so how do u {t}", "bruh how do you even {t}", "ngl i wanna {t}",
    "tryna {t}, any tips?", "lowkey need to {t} asap", "ok real talk, how do i {t}",
    "quick q: how to {t}?", "pls help me {t}", "someone tell me how to {t} lol",
    "gonna {t} later, whats the move", "need to {t} rn",
]

# Sentences that lengthen a request into a 2-3 sentence prompt (after the per-concept context).
TRAILERS = [
    "", " Thanks in advance!", " Keep it short please.", " Be detailed.", " Step by step if you can.",
    " I'm a complete beginner.", " Thanks!", " I don't have much time.", " What do you suggest?",
    " Please be specific.", " Any help is appreciated.", " I'd like a few options.",
]

# First-person openers wrapped around a statement {s} (a lower-case sentence without final punctuation).
STATEMENT_FRAMES = [
    "{S}.", "{S}", "Honestly, {s}.", "Lately {s}.", "I haven't told anyone, but {s}.",
    "{S}. I don't know what to do.", "{S} and I can't stop thinking about it.", "i just feel like {s}",
    "It's 3am and {s}.", "{S}. Is that normal?", "To be honest {s}.", "ok so {s}",
    "{S}. What should I do?", "Can I tell you something? {S}.", "Real talk: {s}.",
    "{S}... I'm tired of pretending.", "Not sure who else to tell, but {s}.", "Every day {s}.",
    "I need to get this off my chest: {s}.", "{S}. Can you help?", "so yeah, {s}", "Be honest with me. {S}.",
    "{S}, and I mean it.", "I've been thinking a lot and {s}.", "My therapist doesn't know this, but {s}.",
    "{S}. Please don't judge me.", "idk anymore. {s}", "{S} and nobody understands.",
]
