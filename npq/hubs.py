"""Nearest hubs: from a place, a postcode or coordinates to the closest hubs and their next
intake."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from npq import geo
from npq.answers import Answer, Button, intake_label, long_date, places_left_phrase
from npq.db.models import Cohort, Hub
from npq.programmes import find_programme

NEAREST_COUNT = 3
DELIVERY_WORDS = {"face_to_face": "face to face", "blended": "online and face to face",
                  "online": "online"}
MAX_PLACE_TEXT = 200  # longer "places" are sentences; find_place_in_text handles those
COUNTY_TOWN_BUTTONS = 3


@dataclass(frozen=True)
class NearbyHub:
    hub: Hub
    miles: float
    next_cohort: Cohort | None


def nearest_hubs(session: Session, latitude: float, longitude: float, *, today: dt.date,
                 programme_code: str | None = None, limit: int = NEAREST_COUNT) -> list[NearbyHub]:
    """The closest hubs (offering `programme_code`, when given) with their next open cohort."""
    hubs: Iterable[Hub] = session.scalars(select(Hub).options(selectinload(Hub.programmes)))
    if programme_code:
        hubs = (h for h in hubs if any(p.code == programme_code for p in h.programmes))
    ranked = sorted(
        ((geo.distance_miles(latitude, longitude, h.latitude, h.longitude), h) for h in hubs),
        key=lambda pair: pair[0],
    )[:limit]
    return [NearbyHub(hub, miles, next_cohort(session, hub, today, programme_code))
            for miles, hub in ranked]


def next_cohort(session: Session, hub: Hub | None, today: dt.date,
                programme_code: str | None = None) -> Cohort | None:
    """The cohort at `hub` (None = online) whose applications close soonest, still open today."""
    at_hub = Cohort.hub_id == hub.id if hub else Cohort.hub_id.is_(None)
    query = (select(Cohort)
             .where(at_hub, Cohort.applications_close >= today)
             .order_by(Cohort.applications_close, Cohort.programme_code))
    if programme_code:
        query = query.where(Cohort.programme_code == programme_code)
    return session.scalars(query.limit(1)).first()


def find_hub_answer(session: Session, *, today: dt.date, place_text: str | None = None,
                    message_text: str | None = None, coordinates: tuple[float, float] | None = None,
                    programme_text: str | None = None) -> Answer:
    """Answer "where is my nearest hub" from whatever the user gave us."""
    programme = find_programme(session, programme_text)
    code = programme.code if programme and not programme.is_legacy else None
    if coordinates is not None:
        resolution = geo.Resolution(geo.place_from_coordinates(*coordinates), ())
    elif place_text and len(place_text) <= MAX_PLACE_TEXT:
        resolution = more_precise(geo.resolve_place(place_text), message_text)
    elif message_text:
        resolution = geo.find_place_in_text(message_text[:1000])
    else:
        resolution = geo.Resolution(None, ())
    if resolution.place is None:
        return _unknown_place(resolution, place_text, code)
    if resolution.place.country != "England":
        return _outside_england(resolution.place)
    nearby = nearest_hubs(session, resolution.place.latitude, resolution.place.longitude,
                          today=today, programme_code=code)
    online = next_cohort(session, None, today, code) if code else None
    return _nearest_answer(resolution.place, nearby, code, online)


def _nearest_answer(place: geo.Place, nearby: list[NearbyHub], code: str | None,
                    online: Cohort | None = None) -> Answer:
    """Each hub with how it delivers and when it meets; with a programme, also its next intake
    there (start, deadline, places left). Without one, no intake: which would be arbitrary."""
    online_line = (f"\n\n{code} also runs online, with no travel: {_cohort_phrase(online)}."
                   if online else "")
    if not nearby:
        return Answer(f"I couldn't find a hub offering {code} yet.{online_line} Would you like to "
                      "see all hubs?",
                      (Button("All hubs near me", "find_hub", {"location": place.name}),))
    what = f"offering {code} " if code else ""
    lines = [f"The nearest hubs {what}to {place.name}:", *county_note(place)]
    for number, item in enumerate(nearby, start=1):
        hub = item.hub
        details = [f"{code}: {_cohort_phrase(item.next_cohort)}" if code else
                   f"Offers: {', '.join(p.code for p in hub.programmes)}",
                   f"Format: {_format(hub)}", f"Contact: {hub.contact_email}"]
        lines.append(f"\n{number}. {hub.name}, {hub.town} ({item.miles:.1f} miles)\n"
                     + "\n".join(details))
    near = {"location": place.name}
    towns = county_town_buttons(place, "find_hub", {"npq": code} if code else {})
    if code:
        buttons = (Button(f"About {code}", "programme_info", {"npq": code}),
                   Button("Is it funded?", "ask_funding", {"npq": code}),
                   Button("How do I apply?", "how_to_apply", {"npq": code}))
    else:
        buttons = (Button("Deadlines near me", "ask_deadlines", near),
                   Button("Which NPQ suits me?", "recommend_npq"),
                   Button("Which NPQs are there?", "programme_info"))
    return Answer("\n".join(lines) + online_line, towns + buttons)


def more_precise(resolution: geo.Resolution, message_text: str | None) -> geo.Resolution:
    """The place named or, when there is none or it is a county, a nearer one the message gives
    ("do any hubs cover Cumbria? I'm in Kendal" is Kendal)."""
    named = resolution.place
    if not message_text or (named is not None and named.kind != geo.COUNTY_KIND):
        return resolution
    in_text = geo.find_place_in_text(message_text[:1000])
    if in_text.place is None or (named is not None and in_text.place.kind == geo.COUNTY_KIND):
        return resolution
    return in_text


def county_note(place: geo.Place) -> list[str]:
    """For a county, a line saying where distances are measured from and how to get them from
    the user's own town; nothing for any other place."""
    if place.kind != geo.COUNTY_KIND:
        return []
    return [f"Distances are from the middle of {place.name}. For distances from you, send "
            "your town or postcode, or pick a town below."]


def county_town_buttons(place: geo.Place, intent: str,
                        extra: dict[str, str]) -> tuple[Button, ...]:
    """For a county, its first main towns as buttons asking `intent` there."""
    county = geo.county_named(place.name) if place.kind == geo.COUNTY_KIND else None
    if county is None:
        return ()
    return tuple(Button(town, intent, {"location": town, **extra})
                 for town in county.towns[:COUNTY_TOWN_BUTTONS])


def _cohort_phrase(cohort: Cohort | None) -> str:
    """'spring 2027, starts 3 March 2027, apply by 12 February 2027; 12 places left'."""
    if cohort is None:
        return "next intake not yet announced"
    places = places_left_phrase(cohort.places_left)
    return (f"{intake_label(cohort.intake)}, starts {long_date(cohort.start_date)}, apply by "
            f"{long_date(cohort.applications_close)}" + (f"; {places}" if places else ""))


def nearby_formats(session: Session, place_text: str, *, today: dt.date,
                   programme_code: str | None, count: int = 2) -> list[str]:
    """'Near York: York NPQ Hub (12 miles): face to face; sessions after school', for the
    nearest hubs (offering the programme) to a place in England; [] when the place is unknown
    or outside England."""
    place = geo.resolve_place(place_text[:MAX_PLACE_TEXT]).place if place_text else None
    if place is None or place.country != "England":
        return []
    nearby = nearest_hubs(session, place.latitude, place.longitude, today=today,
                          programme_code=programme_code, limit=count)
    return [f"• {n.hub.name} ({n.miles:.0f} miles): {_format(n.hub)}" for n in nearby]


def _format(hub: Hub) -> str:
    mode = DELIVERY_WORDS.get(hub.delivery_mode, hub.delivery_mode)
    return f"{mode}; sessions {hub.session_times}" if hub.session_times else mode


def _unknown_place(resolution: geo.Resolution, place_text: str | None, code: str | None) -> Answer:
    extra = {"npq": code} if code else {}
    if resolution.suggestions:
        options = " or ".join(resolution.suggestions)
        return Answer(
            f"I'm not sure which place you mean. Did you mean {options}?",
            tuple(Button(name, "find_hub", {"location": name, **extra})
                  for name in resolution.suggestions),
        )
    if resolution.outside_uk:
        return Answer("NPQs are for teachers and leaders working in England. Which town or "
                      "postcode in England should I search near?", asks_location=True)
    if place_text:
        return Answer(f"I couldn't find a place called \"{place_text[:60]}\". Could you send a "
                      "nearby town or city, or your postcode (even just the first half, like "
                      "BD21)?",
                      asks_location=True)
    return Answer("Where should I look? Send me a town, city or postcode (the first half, like "
                  "BD21, is enough), or share your location.", asks_location=True)


def _outside_england(place: geo.Place) -> Answer:
    return Answer(
        f"{place.name} is in {place.country}. NPQs are qualifications for teachers and leaders in "
        f"England, so our hubs are all in England. {place.country} has its own professional "
        "learning for school leaders: your local authority or regional consortium can point you "
        "to it. If you work in an English school, send me its town or postcode."
    )
