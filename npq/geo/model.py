"""The values the geography module hands out."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Place:
    """A located place: a town, a county, a postcode (or part of one) or a user's shared
    location. A county's point is the mean of its main towns (see counties.csv)."""

    name: str  # display name: "Keighley", "Cumbria", "BD21", "BD21 1AA", "your location"
    latitude: float
    longitude: float
    country: str  # "England", "Scotland", "Wales", "Northern Ireland"
    kind: str  # "town", "county", "postcode", "outcode", "coordinates"


@dataclass(frozen=True)
class Resolution:
    """The outcome of reading a place from user input."""

    place: Place | None  # confident match, or None
    suggestions: tuple[str, ...] = ()  # "did you mean" names when not confident (may be empty)
    outside_uk: bool = False  # recognised as a place or postcode outside the UK ("Paris")


NOTHING = Resolution(None, ())
ABROAD = Resolution(None, (), outside_uk=True)
