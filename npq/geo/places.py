"""Reading places from what users type: names, postcodes, free text and shared locations."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz import fuzz, process

from npq.geo import words
from npq.geo.counties import COUNTY_KIND, County, counties
from npq.geo.gazetteer import (
    TIER_NAME,
    Town,
    best_town,
    gazetteer,
    name_key,
    nearest_town,
)
from npq.geo.model import ABROAD, NOTHING, Place, Resolution
from npq.geo.postcodes import (
    CROWN_DEPENDENCY_AREAS,
    NORTHERN_IRELAND_AREA,
    find_postcode,
    locate,
    parse_postcode,
)

MAX_NAME_CHARS = 100  # longer input to resolve_place is a sentence, not a name
MAX_TEXT_CHARS = 1000  # chat messages; longer text is only scanned this far
MAX_NGRAM_WORDS = 6  # "Eyton upon the Weald Moors" is the longest name that matters
MAX_TRAILING_WORDS = 3
MAX_TRAILING_CHARS = 30
MIN_FUZZY_CHARS = 4  # "bat" is not a misspelt Bath
FUZZY_ACCEPT = 85.0  # rapidfuzz ratio: "keigley"/"keighley" 93, "bradfrod"/"bradford" 88
FUZZY_MARGIN = 5.0  # names scoring within this of the best are all in the running
# ...and among those a town wins outright only when it is this many times bigger than each
# other one and a real town ("Shefield" is as close to Shenfield as to Sheffield).
FUZZY_DOMINANCE = 10.0
FUZZY_DOMINANT_MIN_POPULATION = 10_000
FUZZY_SUGGEST = 70.0
# Free text is not a reply to "which town?": only near misses there ("Kent" is not Kenton).
FUZZY_SUGGEST_IN_TEXT = 82.0
FUZZY_CANDIDATES = 25
MAX_SUGGESTIONS = 3
NI_FALLBACK_TOWN = "belfast"  # Code-Point Open has no Northern Ireland (BT) postcodes
COORDINATES_NAME = "your location"
TRAILING_FILLERS = frozenset({"please", "pls", "thanks", "thank", "you", "cheers", "area", "ta"})
TOKEN_RE = re.compile(r"[^\W_]+(?:['’][^\W_]+)*|&")
SENTENCE_END_RE = re.compile(r"[.!?]")
_WORDLIKE_PLACES = words.COMMON_WORD_PLACES | words.LOCATIVE_ONLY_PLACES | words.CALENDAR_PLACES

Found = Town | County


@dataclass(frozen=True)
class _Token:
    text: str
    key: str
    sentence_start: bool


@dataclass(frozen=True)
class _Match:
    start: int
    length: int
    found: Found
    after_locative: bool

    @property
    def is_county(self) -> bool:
        return isinstance(self.found, County)

    def within(self, other: _Match) -> bool:
        """Whether this name lies inside a longer one ("Durham" in "County Durham")."""
        return (other.length > self.length and other.start <= self.start
                and self.start + self.length <= other.start + other.length)


def resolve_postcode(postcode: str) -> Place | None:
    """Locate a postcode: a full one at its own point; a sector ("BD21 1"), outward code
    ("BD21") or bare area ("BD") at the centroid of its postcodes. Northern Ireland (BT) gets
    Belfast's coordinates. None for unknown or non-UK postcodes."""
    parsed = parse_postcode(postcode, allow_area=True) if isinstance(postcode, str) else None
    if parsed is None or parsed.area in CROWN_DEPENDENCY_AREAS:
        return None
    kind = "postcode" if parsed.kind == "postcode" else "outcode"
    if parsed.area == NORTHERN_IRELAND_AREA:
        belfast = best_town(gazetteer().keys[NI_FALLBACK_TOWN])
        return Place(parsed.text, belfast.latitude, belfast.longitude, "Northern Ireland", kind)
    point = locate(parsed)
    if point is None:
        return None
    latitude, longitude = point
    return Place(parsed.text, latitude, longitude, nearest_town(*point).country, kind)


def place_from_coordinates(latitude: float, longitude: float) -> Place:
    """A user's shared location as a Place ("your location"), with the country of the nearest
    gazetteer town (so a point abroad gets the country of the closest UK town). Raises
    ValueError for coordinates that are not on Earth."""
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):  # also false for NaN
        raise ValueError(f"not a latitude/longitude: {latitude!r}, {longitude!r}")
    country = nearest_town(latitude, longitude).country
    return Place(COORDINATES_NAME, float(latitude), float(longitude), country, "coordinates")


def resolve_place(text: str) -> Resolution:
    """Resolve a town, city, borough or county name, or a postcode, typed on its own
    ("Keighley", "bd21", "Cumbria", "Leeds, West Yorkshire": a town named with its county is
    the town). Case, punctuation, hyphens, "St"/"Saint" and "upon"/"on" do not matter; a
    misspelling resolves when one name is clearly closest, otherwise up to three suggestions
    come back."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_NAME_CHARS:
        return NOTHING
    stripped = text.strip()
    # A bare area ("BD") only in capitals: "me" or "b" typed in chat are not Medway or Birmingham.
    parsed = parse_postcode(stripped, allow_area=stripped.isupper() and len(stripped) == 2)
    if parsed is not None:
        if parsed.area in CROWN_DEPENDENCY_AREAS:
            return ABROAD
        place = resolve_postcode(parsed.text)
        return NOTHING if place is None else Resolution(place)
    key_words = _trim(name_key(stripped).split())
    exact = _exact(key_words)
    if exact is not None:
        return exact
    if "," in stripped:  # "Keigley, West Yorkshire": the town comes first
        head = resolve_place(stripped.split(",")[0])
        if head.place or head.suggestions or head.outside_uk:
            return head
    place = _postcode_in_text(stripped) or _longest_name(_tokens(stripped), in_chat=False)
    if place is not None:
        return Resolution(place)
    return _fuzzy(" ".join(key_words), FUZZY_SUGGEST) if _fuzzy_worthy(key_words) else NOTHING


def find_place_in_text(text: str) -> Resolution:
    """Find the place a chat message is about: a postcode first, else the longest town name in
    it, else a county ("a school in Devon"; "Keswick, Cumbria" is Keswick). Names must be exact,
    except that a short trailing phrase after "near", "in", "around" or "close to" may be a
    misspelling. Ordinary words, NPQ codes and programme words are not
    places; "reading" is the town only when capitalised mid-sentence or after "near"/"in"."""
    if not isinstance(text, str) or not text.strip():
        return NOTHING
    text = text[:MAX_TEXT_CHARS]
    place = _postcode_in_text(text)
    if place is not None:
        return Resolution(place)
    tokens = _tokens(text)
    place = _longest_name(tokens, in_chat=True)
    if place is not None:
        return Resolution(place)
    trailing = _trailing_phrase(tokens)
    if trailing:
        resolution = _resolve_name(trailing, FUZZY_SUGGEST_IN_TEXT)
        if resolution.place or resolution.suggestions or resolution.outside_uk:
            return resolution
    return ABROAD if _mentions_abroad(tokens) else NOTHING


def _postcode_in_text(text: str) -> Place | None:
    """The place of the first postcode in text; an unknown full postcode (a slip in its last
    three characters, often) falls back to its outward code."""
    postcode = find_postcode(text)
    if postcode is None:
        return None
    return resolve_postcode(postcode) or resolve_postcode(postcode.split(" ")[0])


def _resolve_name(key_words: list[str], suggest_from: float) -> Resolution:
    exact = _exact(key_words)
    if exact is not None:
        return exact
    return _fuzzy(" ".join(key_words), suggest_from) if _fuzzy_worthy(key_words) else NOTHING


def _exact(key_words: list[str]) -> Resolution | None:
    """The resolution of a name known exactly (a county, a town, a UK nation, a place abroad),
    else None. A county's names are chosen not to be towns' (Durham is the city)."""
    key = " ".join(key_words)
    if not key or key in words.UK_REGIONS:
        return NOTHING
    county = counties().get(key)
    if county is not None:
        return Resolution(_place(county))
    found = gazetteer().keys.get(key)
    if found:
        return Resolution(_place(best_town(found)))
    return ABROAD if key in gazetteer().foreign else None


def _fuzzy_worthy(key_words: list[str]) -> bool:
    key = " ".join(key_words)
    return len(key) >= MIN_FUZZY_CHARS and not all(w in words.NON_PLACE_WORDS for w in key_words)


def _fuzzy(key: str, suggest_from: float) -> Resolution:
    choices, owners = _fuzzy_choices()
    hits = process.extract(
        key, choices, scorer=fuzz.ratio, limit=FUZZY_CANDIDATES, score_cutoff=suggest_from
    )
    scored: dict[str, tuple[float, Found]] = {}
    for _, score, index in hits:
        town = owners[index]
        if town.name not in scored or score > scored[town.name][0]:
            scored[town.name] = (score, town)
    ranked = sorted(scored.values(), key=lambda st: (-st[0], -st[1].rank))
    if not ranked:
        return NOTHING
    winner = _clear_winner(ranked)
    if winner is not None:
        return Resolution(_place(winner))
    return Resolution(None, tuple(t.name for _, t in ranked
                                  if _worth_suggesting(key, t, suggest_from))[:MAX_SUGGESTIONS])


def _worth_suggesting(key: str, found: Found, suggest_from: float) -> bool:
    """Whether a near miss makes sense to offer by its name: it starts with the letter typed (a
    misspelling rarely changes the first letter) and is close to the name shown, not only to some
    other form of it (GeoNames lists "ranana" for London, so "banana" scored 83 for London)."""
    shown = name_key(found.name)
    return key[:1] == shown[:1] and fuzz.ratio(key, shown) >= suggest_from


def _clear_winner(ranked: list[tuple[float, Found]]) -> Found | None:
    """The one place a misspelling surely means: best by far, or far bigger than its rivals (a
    county counts its main towns together, so "Cumbira" is Cumbria, not the Isle of Cumbrae)."""
    best_score = ranked[0][0]
    if best_score < FUZZY_ACCEPT:
        return None
    pool = [town for score, town in ranked if score > best_score - FUZZY_MARGIN]
    if len(pool) == 1:
        return pool[0]
    biggest = max(pool, key=lambda t: t.rank)
    rivals = [t for t in pool if t is not biggest]
    if biggest.population >= FUZZY_DOMINANT_MIN_POPULATION and all(
        biggest.rank >= FUZZY_DOMINANCE * t.rank for t in rivals
    ):
        return biggest
    return None


@cache
def _fuzzy_choices() -> tuple[list[str], list[Found]]:
    """Every name key worth fuzzy matching, with the place it stands for: the towns' and the
    counties' (a key both have is the county's, as for exact names)."""
    owners: dict[str, Found] = {
        key: best_town(matches) for key, matches in gazetteer().keys.items()
        if len(key) >= MIN_FUZZY_CHARS
    }
    owners.update((key, county) for key, county in counties().items()
                  if len(key) >= MIN_FUZZY_CHARS)
    return list(owners), list(owners.values())


def _place(found: Found) -> Place:
    kind = COUNTY_KIND if isinstance(found, County) else "town"
    return Place(found.name, found.latitude, found.longitude, found.country, kind)


def _trim(key_words: list[str]) -> list[str]:
    """Drop a leading locative ("near") and trailing pleasantries ("please") from a name."""
    while len(key_words) > 1 and key_words[0] in words.LOCATIVES | words.TO_LEADERS | {"to"}:
        key_words = key_words[1:]
    while len(key_words) > 1 and key_words[-1] in TRAILING_FILLERS:
        key_words = key_words[:-1]
    return key_words


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous_end = 0
    for match in TOKEN_RE.finditer(text):
        gap = text[previous_end : match.start()]
        starts = not tokens or SENTENCE_END_RE.search(gap) is not None
        tokens.append(_Token(match.group(0), name_key(match.group(0)), starts))
        previous_end = match.end()
    return [t for t in tokens if t.key]


def _longest_name(tokens: list[_Token], in_chat: bool) -> Place | None:
    """The longest town name among the tokens, else the longest county name ("Keswick,
    Cumbria" is Keswick; a town inside a county's name, as in "County Durham", is no town);
    ties go to one after "near"/"in", then to the bigger place, then to the first."""
    matches = _name_matches(tokens, in_chat)
    outer = [m for m in matches if not any(m.within(other) for other in matches)]
    towns = [m for m in outer if not m.is_county]
    candidates = towns or outer
    if not candidates:
        return None
    best = max(candidates, key=lambda m: (m.length, m.after_locative, m.found.rank, -m.start))
    return _place(best.found)


def _name_matches(tokens: list[_Token], in_chat: bool) -> list[_Match]:
    keys, county_keys = gazetteer().keys, counties()
    matches: list[_Match] = []
    for start in range(len(tokens)):
        for length in range(min(MAX_NGRAM_WORDS, len(tokens) - start), 0, -1):
            span = tokens[start : start + length]
            key = " ".join(t.key for t in span)
            tiers = [m for m in keys.get(key, ()) if m[1] == TIER_NAME]
            found: Found | None = county_keys.get(key) or (best_town(tiers) if tiers else None)
            if found is not None and _acceptable(key, span, tokens, start, in_chat):
                matches.append(_Match(start, length, found, _locative(tokens, start)))
    return matches


def _acceptable(
    key: str, span: list[_Token], tokens: list[_Token], start: int, in_chat: bool
) -> bool:
    """Whether a place name found in text is meant as a place there (see the word lists). A
    reply to "which town?" (not in_chat) is read more generously: "Reading Berkshire"."""
    if all(t.key in words.NON_PLACE_WORDS for t in span) or key in words.UK_REGIONS:
        return False
    if len(span) == len(tokens):  # the whole message is the name: "Bath"
        return True
    capitalised = all(t.text[0].isupper() for t in span)
    if not in_chat:
        return key not in _WORDLIKE_PLACES or capitalised or _locative(tokens, start)
    if key in words.CALENDAR_PLACES:
        return _locative(tokens, start, strong=True)
    if key in words.LOCATIVE_ONLY_PLACES:
        return _locative(tokens, start)
    if key in words.COMMON_WORD_PLACES:
        return (capitalised and not span[0].sentence_start) or _locative(tokens, start)
    return True


def _locative(tokens: list[_Token], start: int, strong: bool = False) -> bool:
    """Whether the words before position `start` are "near", "in", "close to" and the like."""
    before = [t.key for t in tokens[max(0, start - 3) : start]]
    if not before:
        return False
    if before[-1] == "to":
        return any(w in words.TO_LEADERS for w in before[:-1])
    return before[-1] in (words.STRONG_LOCATIVES if strong else words.LOCATIVES)


def _trailing_phrase(tokens: list[_Token]) -> list[str]:
    """The few words after the last locative, for fuzzy matching ("near Keigley please")."""
    starts = [i for i in range(1, len(tokens) + 1) if _locative(tokens, i)]
    if not starts:
        return []
    phrase = [t.key for t in tokens[starts[-1] :]]
    while phrase and phrase[-1] in words.NON_PLACE_WORDS | TRAILING_FILLERS:
        phrase.pop()
    too_long = len(phrase) > MAX_TRAILING_WORDS or len(" ".join(phrase)) > MAX_TRAILING_CHARS
    vetoed = any(
        w in words.NON_PLACE_WORDS or w in words.CALENDAR_PLACES or not w.isalpha() for w in phrase
    )
    return [] if too_long or vetoed else phrase


def _mentions_abroad(tokens: list[_Token]) -> bool:
    """A capitalised foreign city or country right after a locative ("based in Paris")."""
    foreign = gazetteer().foreign
    for start in range(len(tokens)):
        if not tokens[start].text[0].isupper() or not _locative(tokens, start):
            continue
        for length in range(1, min(MAX_NGRAM_WORDS, len(tokens) - start) + 1):
            key = " ".join(t.key for t in tokens[start : start + length])
            if key in foreign and key not in words.UK_REGIONS:
                return True
    return False
