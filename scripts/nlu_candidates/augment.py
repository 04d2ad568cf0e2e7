"""Deterministic (seeded) phone-style copies of training messages, for jobs.py: lower case,
dropped apostrophes and final punctuation, text-speak ("u", "pls"), one or two typos (a swap, a
dropped or doubled letter, a neighbouring key) and, for questions, a few words of context before
them. augment(pairs, "phone") adds one such copy of every message; "prefix" adds a copy with an
opening only, for a quarter of the questions; "none" adds nothing.
"""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ops.evaluation import parse_annotated  # noqa: E402

KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
TEXT_SPEAK = {"you": "u", "are": "r", "your": "ur", "you're": "ur", "please": "pls",
              "thanks": "thx", "because": "cos", "i'm": "im", "don't": "dont", "can't": "cant",
              "what's": "whats", "isn't": "isnt", "doesn't": "doesnt", "won't": "wont",
              "i've": "ive", "it's": "its", "where's": "wheres", "when's": "whens",
              "how's": "hows", "that's": "thats", "thank you": "ty", "tomorrow": "tmrw",
              "before": "b4", "see you": "cya"}
PREFIX = ["hi ", "hiya, ", "hello, ", "morning! ", "quick question - ", "sorry to bother you but ",
          "hi there, i was wondering ", "ok so ", "um ", "right, ", "a colleague mentioned this. ",
          "i'm a teacher in leeds. ", "i teach year 6 and ", "been meaning to ask, ",
          "just had a staff meeting about cpd. ", "our head suggested i look into it. ",
          "hope you can help. ", "yes and also ", "one more thing, ", "so "]
# openings for the evaluation copies only (jobs.py), none of them in PREFIX
EVAL_PREFIX = ["hey ", "good afternoon. ", "hi, hope youre well. ", "question: ", "ok ",
               "im a deputy head in bradford. ", "my line manager said to ask. ",
               "thinking about next year, ", "sorry if this is obvious but ", "hello again, "]
NO_PREFIX = {"greet", "goodbye", "affirm", "deny", "thank", "inform"}


def neighbours(char: str) -> list[str]:
    for row in KEYBOARD:
        i = row.find(char)
        if i >= 0:
            return [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
    return []


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:
        return word[:i] + word[i + 1:]
    if kind == 2:
        return word[:i] + word[i] + word[i:]
    near = neighbours(word[i])
    return word[:i] + (rng.choice(near) if near else word[i]) + word[i + 1:]


def phone(text: str, rng: random.Random, prefix: bool = True,
          prefixes: list[str] = PREFIX) -> str:
    out = text.lower()
    for word, short in TEXT_SPEAK.items():
        if rng.random() < 0.7:
            out = re.sub(rf"\b{re.escape(word)}\b", short, out)
    out = out.replace("'", "") if rng.random() < 0.5 else out
    if rng.random() < 0.7:
        out = out.rstrip("?.!")
    words = out.split(" ")
    for _ in range(1 if len(words) < 6 else 2):
        j = rng.randrange(len(words))
        words[j] = typo(words[j], rng)
    out = " ".join(words)
    if prefix and rng.random() < 0.3:
        out = rng.choice(prefixes) + out
    return out


def augment(pairs: list[tuple[str, str]], name: str) -> list[tuple[str, str]]:
    if name == "none":
        return list(pairs)
    rng = random.Random(12345)
    out = list(pairs)
    for text, intent in pairs:
        plain = parse_annotated(text)[0]
        if name == "phone":
            new = phone(plain, rng, prefix=intent not in NO_PREFIX)
        elif name == "prefix":
            if intent in NO_PREFIX or rng.random() >= 0.25:
                continue
            new = rng.choice(PREFIX) + plain[:1].lower() + plain[1:]
        else:
            raise ValueError(f"unknown augmentation {name!r}")
        if new != plain and new.strip():
            out.append((new, intent))
    return out
