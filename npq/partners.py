"""Schools becoming delivery partners: the steps, what we look for, what partners get, and the fit
check (a pure per-criterion assessment plus an area gap analysis from the hubs table).

The criteria, benefits and steps are PartnerContent rows (partner.yaml); the fee note and the
office contact come from network.yaml.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from npq import geo
from npq.answers import Answer, Button
from npq.db.models import Hub, PartnerContent, PartnerEnquiry
from npq.network import load_network, office_contact
from npq.programmes import current_programmes

UNDER_SERVED_MILES = 25  # no hub offering a programme within this distance: a gap
PHONE_SIZE = 880
ORGANISATION_TYPES: dict[str, str] = {
    "teaching_school_hub": "a teaching school hub",
    "trust": "a multi-academy trust",
    "federation": "a federation",
    "alliance": "a teaching school alliance or partnership",
    "local_authority": "a local authority",
    "single_school": "a single school",
}
ORGANISATION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("alliance", r"\bteaching school alliance\b|\btsa\b"),
    ("teaching_school_hub", r"\bteaching school( hub)?\b|\btsh\b"),
    ("single_school", r"\bsingle academy trust\b|\bsat\b|\bsingle school\b|\bstand ?alone\b"
                      r"|\bone school\b|\bjust (us|our school|one school)\b"),
    ("trust", r"\b(mat|multi academy trust|academy trust|trust|diocese|diocesan)\b"),
    ("federation", r"\bfederat(ion|ed)\b"),
    ("local_authority", r"\b(local authority|council)\b"),
    ("alliance", r"\b(alliance|partnership|network|cluster|consortium|collaborative)\b"),
    ("single_school", r"\b(school|academy|primary|secondary)\b"),
)
STATUS_WORDS = {"met": "met", "partly": "partly", "not_yet": "not yet", "to_check": "to check"}
OTHER_PROVIDERS = ("Other providers may cover your area too: check what's already there, so "
                   "you don't overlap.")
CROSS_SCHOOL = frozenset({"teaching_school_hub", "trust", "federation", "alliance"})


@dataclass(frozen=True)
class FitAnswers:
    """What a school told the fit check; None is "not answered"."""

    organisation_type: str | None = None  # a key of ORGANISATION_TYPES
    area: geo.Place | None = None
    facilities: bool | None = None
    facilitators: str | None = None  # yes | keen | no
    programme_code: str | None = None  # the programme they would start with
    works_with_others: bool | None = None  # shared values: working with other schools


@dataclass(frozen=True)
class Coverage:
    code: str
    hub: str | None  # the nearest hub offering it
    miles: float | None
    near: str | None = None  # for a county: the main town the hub is nearest to

    @property
    def under_served(self) -> bool:
        return self.miles is None or self.miles > UNDER_SERVED_MILES


@dataclass(frozen=True)
class CriterionResult:
    key: str  # a partner.yaml criterion key
    status: str  # met | partly | not_yet | to_check
    reason: str


def parse_organisation_type(text: str | None) -> str | None:
    """'We're a MAT' -> trust, 'teaching school hub' -> teaching_school_hub; None if unclear."""
    words = _words(text)
    if words in ORGANISATION_TYPES:
        return words
    if not words:
        return None
    return next((key for key, pattern in ORGANISATION_PATTERNS if re.search(pattern, words)), None)


def parse_yes_no(text: str | None) -> bool | None:
    words = _words(text)
    if re.search(r"^(yes|yeah|yep|y|yup|sure|we do|we have|we can|definitely|absolutely|of course|"
                 r"certainly)\b", words):
        return True
    if re.search(r"^(no|nope|n|not really|we dont|we do not|we havent|we cant|not yet)\b", words):
        return False
    return None


# Criteria a school states in passing, whatever was asked ("we've got a lecture theatre", "our
# deputies run CPD across the trust"): the check takes them instead of asking later.
FACILITIES_SAID = re.compile(
    r"\b(we have|we ve got|weve got|we do have|we ve a|there s|theres|there is|we own|got|"
    r"with) (a |an |our |some |plenty of |two |three |a couple of |lots of |several )?(own |big "
    r"|large |good |great |decent |spare |dedicated |purpose built |new )*(halls?|rooms?|"
    r"classrooms?|lecture theatres?|training (rooms?|space|centre|suite)|conference (rooms?|"
    r"centre|suite|facilities)|meeting rooms?|spaces?|venues?|auditorium|facilities)\b")
FACILITATORS_SAID = re.compile(
    r"\b(deputies|deputy|leaders|slt|senior team|staff|we|assistant heads?|colleagues|team|"
    r"people|heads?) (already |regularly |often )?(run|runs|lead|leads|deliver|delivers|"
    r"facilitate|facilitates|present|presents) (cpd|training|inset|professional development|"
    r"courses|sessions|coaching)\b")


def states_facilities(text: str | None) -> bool:
    return FACILITIES_SAID.search(_words(text)) is not None


def states_facilitators(text: str | None) -> bool:
    return FACILITATORS_SAID.search(_words(text)) is not None


def parse_facilitators(text: str | None) -> str | None:
    """yes (experienced), keen (willing to learn) or no."""
    words = _words(text)
    if re.search(r"\b(keen|learn|willing|would like|interested|happy to|want to)\b", words):
        return "keen"
    answer = parse_yes_no(text)
    return None if answer is None else ("yes" if answer else "no")


def read_area(text: str | None) -> geo.Resolution:
    """The area a school names: a town or postcode on its own, else a place in a sentence; when
    neither is found, the "did you mean" names for a misspelt town ("Boton")."""
    if not isinstance(text, str) or not text.strip():
        return geo.Resolution(None, ())
    resolution = geo.resolve_place(text) if len(text) <= 200 else geo.Resolution(None, ())
    if resolution.place:
        return resolution
    in_text = geo.find_place_in_text(text[:1000])
    return in_text if in_text.place or in_text.suggestions else resolution


def area_to_slot(place: geo.Place) -> dict[str, str | float]:
    return {"name": place.name, "latitude": place.latitude, "longitude": place.longitude,
            "country": place.country, "kind": place.kind}


def area_from_slot(value: object) -> geo.Place | None:
    """A Place back from the form's slot; None when it is missing or malformed."""
    if not isinstance(value, dict):
        return None
    try:
        latitude, longitude = float(value["latitude"]), float(value["longitude"])
        place = geo.place_from_coordinates(latitude, longitude)
    except (KeyError, TypeError, ValueError):
        return None
    name = str(value.get("name") or place.name)[:120]
    return geo.Place(name, latitude, longitude, str(value.get("country") or place.country),
                     str(value.get("kind") or place.kind))


def area_coverage(session: Session, place: geo.Place) -> list[Coverage]:
    """For each current programme, the nearest hub offering it and how far away it is: from the
    place, or for a county from the nearest of its main towns (a hub near any of them serves
    the county; its middle may be hills)."""
    hubs = list(session.scalars(select(Hub).options(selectinload(Hub.programmes))))
    county = _county(place)
    points = (list(zip(county.towns, county.town_points, strict=True)) if county else
              [(None, (place.latitude, place.longitude))])
    coverage = []
    for programme in current_programmes(session):
        offering = [(geo.distance_miles(*point, h.latitude, h.longitude), town, h)
                    for h in hubs if any(p.code == programme.code for p in h.programmes)
                    for town, point in points]
        miles, town, hub = min(offering, key=lambda found: found[0], default=(None, None, None))
        coverage.append(Coverage(programme.code, hub.name if hub else None, miles, town))
    return coverage


def assess_fit(answers: FitAnswers,
               coverage: list[Coverage] | None = None) -> list[CriterionResult]:
    """Met / partly / not yet / to check, with a one-line reason, for each criterion in
    partner.yaml's order (seed 002's four steps, capacity asked as two questions)."""
    return [_area(answers, coverage), _set_up(answers.organisation_type),
            _yes_no("shared_values", answers.works_with_others,
                    "You already work with other schools beyond your own.",
                    "We'd talk about working with other schools and your local network."),
            _yes_no("facilities", answers.facilities, "You have a good training space.",
                    "You'll need a good training space for the face-to-face sessions."),
            _facilitators(answers.facilitators)]


def criterion_question(session: Session, key: str) -> str | None:
    """What the partner-fit check asks a school about one criterion (partner.yaml)."""
    return session.scalar(select(PartnerContent.question).where(
        PartnerContent.kind == "criterion", PartnerContent.key == key))


def become_partner_answer(session: Session, question: str | None = None) -> Answer:
    how_many = how_many_programmes_answer(session, question)
    if how_many is not None:  # "do partners have to deliver all the NPQs?"
        return how_many
    steps = _content(session, "step")
    text = _fitted("Becoming a delivery partner, step by step:", [
        [f"{n}. {s.title}: {s.description}" for n, s in enumerate(steps, 1)],
        [f"{n}. {s.title}" for n, s in enumerate(steps, 1)]])
    return Answer(text, _partner_buttons("become_partner"))


# "what kind of rooms would you need?": the one criterion a question is about, by its key in
# partner.yaml (staff edit the wording, not the keys)
CRITERION_CUES: tuple[tuple[str, str], ...] = (
    ("facilitators", r"\b(facilitators?|trainers?|presenters?|how many (staff|people|leaders)|"
                     r"who (would|will|should) (run|deliver|lead|teach)|run the sessions|"
                     r"deliver the sessions|experience (do|would) (we|our staff) need)\b"),
    ("facilities", r"\b(rooms?|space|spaces|venues?|facility|facilities|building|hall|parking|"
                   r"equipment|kit|classroom)\b"),
    ("know_your_area", r"\b(gaps?|demand|local need|need in (our|the) area|other providers|"
                       r"competition)\b"),
    ("set_up", r"\b((kind|type|sort) of (school|organisation|setting)|ofsted|outstanding|"
               r"teaching school|federation|have to be a trust|does it have to be)\b"),
    ("shared_values", r"\b(values|ethos|outward|work with other schools|collaborat\w*)\b"),
)


# "do partners have to deliver all the NPQs?": the step that answers it, by its key
ALL_PROGRAMMES = re.compile(r"\b(all|every|each|how many|several|lots of)( of)?( the)? (npqs?|"
                            r"programmes?|courses?|qualifications?)\b")
# "... and what support would we get?" inside a question about joining or what we look for
ALSO_ASKS_BENEFITS = re.compile(r"\b(what (support|help|training|money|funding) (would|do|will|"
                                r"could|might) we (get|receive)|what (do|would|will) we get|"
                                r"what s in it for (us|the school)|benefits?)\b")


def also_asks_benefits(question: str | None) -> bool:
    return ALSO_ASKS_BENEFITS.search(_words(question)) is not None


def how_many_programmes_answer(session: Session, question: str | None) -> Answer | None:
    """'Do partners have to deliver all the NPQs?': no, new partners often start with one; None
    when that isn't the question (or staff removed the step)."""
    if not ALL_PROGRAMMES.search(_words(question)):
        return None
    step = next((s for s in _content(session, "step") if s.key == "first_programme"), None)
    if step is None:
        return None
    return Answer(f"Not all at once. {step.description}", _partner_buttons("become_partner"))


def partner_requirements_answer(session: Session, question: str | None = None) -> Answer:
    """What we look for; a question about one thing (rooms, facilitators, the area) gets that
    criterion in full first; "do we have to deliver all the NPQs?" gets its answer."""
    how_many = how_many_programmes_answer(session, question)
    if how_many is not None:
        return how_many
    criteria = _content(session, "criterion")
    words = _words(question)
    asked = next((key for key, cue in CRITERION_CUES if words and re.search(cue, words)), None)
    chosen = next((c for c in criteria if c.key == asked), None)
    if chosen is not None:
        others = ", ".join(c.title.lower() for c in criteria if c is not chosen)
        return Answer(f"{chosen.title}: {chosen.description}\n\nWe also look at: {others}.",
                      _partner_buttons("partner_requirements"))
    text = _fitted("What we look for in a delivery partner:", [
        [f"• {c.title}: {_first_sentence(c.description)}" for c in criteria],
        [f"• {c.title}: {c.question}" for c in criteria], [f"• {c.title}" for c in criteria]])
    return Answer(text, _partner_buttons("partner_requirements"))


def partner_benefits_answer(session: Session) -> Answer:
    benefits = _content(session, "benefit")
    fee = load_network(session).get("partner_fee_note")
    footer = [fee] if fee else []
    text = _fitted("What partners get:", [
        [f"• {b.title}: {_first_sentence(b.description)}" for b in benefits] + footer,
        [f"• {b.title}" for b in benefits] + footer])
    return Answer(text, _partner_buttons("partner_benefits"))


def partner_fit_answer(session: Session, answers: FitAnswers) -> Answer:
    """The fit check's result, criterion by criterion, then an offer to pass it to staff."""
    coverage = _coverage_for(session, answers.area)
    titles = {c.key: c.title for c in _content(session, "criterion")}
    lines = ["Here's how you match what we look for:"]
    for result in assess_fit(answers, coverage):
        lines.append(f"• {titles.get(result.key, result.key)}: {STATUS_WORDS[result.status]}. "
                     f"{result.reason}")
    lines.append("Shall I pass this to our partnerships team so they can talk it through with you?")
    return Answer("\n".join(lines), (
        Button("Yes, pass it on", "affirm"), Button("Not now", "deny"),
        Button("What do partners get?", "partner_benefits")))


def record_partner_enquiry(session: Session, chat_id: str | int, answers: FitAnswers, *,
                           now: dt.datetime, organisation: str | None = None) -> PartnerEnquiry:
    """Store the answers and the assessment for staff; the caller commits."""
    chat = str(chat_id).strip()[:64]
    if not chat:
        raise ValueError("a partner enquiry needs the chat it came from")
    coverage = _coverage_for(session, answers.area)
    stored = asdict(answers)
    stored["area"] = asdict(answers.area) if answers.area else None
    enquiry = PartnerEnquiry(
        chat_id=chat, organisation=(organisation or "").strip()[:200] or None,
        organisation_type=answers.organisation_type if answers.organisation_type
        in ORGANISATION_TYPES else None,
        area=answers.area.name[:120] if answers.area else None, answers=stored,
        assessment={"criteria": [asdict(r) for r in assess_fit(answers, coverage)],
                    "under_served": [c.code for c in coverage or [] if c.under_served],
                    "threshold_miles": UNDER_SERVED_MILES},
        created_at=now)
    session.add(enquiry)
    session.flush()
    return enquiry


def enquiry_recorded_answer(session: Session) -> Answer:
    contact = office_contact(load_network(session))
    reach = f" You can also contact our office: {contact}." if contact else ""
    return Answer("Thank you: I've passed your answers to our partnerships team, and they'll be in "
                  f"touch to arrange a first discussion.{reach}", (
                      Button("What do partners get?", "partner_benefits"),
                      Button("Talk to a person now", "talk_to_human")))


def _area(answers: FitAnswers, coverage: list[Coverage] | None) -> CriterionResult:
    """Our hubs' provision near the school. Other providers' is not in our data, so a gap in
    ours is "to check", and the school is told to look."""
    place = answers.area
    if place is None:
        return CriterionResult("know_your_area", "not_yet", "Tell us your town or postcode so we "
                               "can check our hubs near you.")
    if place.country != "England" or coverage is None:
        return CriterionResult("know_your_area", "not_yet", "NPQs are delivered in England.")
    gaps = [c.code for c in coverage if c.under_served]
    towns = "'s main towns" if _county(place) else ""  # measured from each of them
    near = f"within {UNDER_SERVED_MILES} miles of {place.name}{towns}"
    chosen = next((c for c in coverage if c.code == answers.programme_code), None)
    if chosen is not None and not chosen.under_served:
        rest = f" None of our hubs offers {', '.join(gaps)} {near}." if gaps else ""
        where = _distance(chosen.miles, chosen.near)
        return CriterionResult("know_your_area", "partly" if gaps else "not_yet",
                               f"Our {chosen.hub} already offers {chosen.code} "
                               f"{where}.{rest} {OTHER_PROVIDERS}")
    if gaps and len(gaps) == len(coverage):
        return CriterionResult("know_your_area", "to_check", f"None of our hubs offers any NPQ "
                               f"{near}. {OTHER_PROVIDERS}")
    if gaps:
        return CriterionResult("know_your_area", "to_check", f"None of our hubs offers "
                               f"{', '.join(gaps)} {near}. {OTHER_PROVIDERS}")
    return CriterionResult("know_your_area", "not_yet", f"Our hubs already offer every NPQ "
                           f"{near}, so a new hub would overlap with them.")


def _distance(miles: float | None, town: str | None = None) -> str:
    """'12 miles away', or from a county's main `town`: 'in Carlisle', '12 miles from Kendal'."""
    close = miles is not None and miles < 1
    if town:
        return f"in {town}" if close else f"{miles:.0f} miles from {town}"
    return "less than a mile away" if close else f"{miles:.0f} miles away"


def _county(place: geo.Place) -> geo.County | None:
    return geo.county_named(place.name) if place.kind == geo.COUNTY_KIND else None


def _set_up(kind: str | None) -> CriterionResult:
    label = ORGANISATION_TYPES.get(kind or "")
    if kind in CROSS_SCHOOL:
        return CriterionResult("set_up", "met", f"As {label}, you have the people and reach to "
                               "run training.")
    if label is not None:
        return CriterionResult("set_up", "partly", f"As {label}, we'd talk about your experience "
                               "of leading CPD beyond your own staff.")
    return CriterionResult("set_up", "not_yet", "Tell us what kind of organisation you are.")


def _facilitators(answer: str | None) -> CriterionResult:
    if answer == "yes":
        return CriterionResult("facilitators", "met", "You have senior leaders who run CPD.")
    if answer == "keen":
        return CriterionResult("facilitators", "partly", "Keen is a good start: new facilitators "
                               "are trained, then supported by experienced ones.")
    return CriterionResult("facilitators", "not_yet", "You'll need senior leaders to facilitate."
                           if answer == "no" else "Tell us who could facilitate.")


def _yes_no(key: str, answer: bool | None, yes: str, no: str) -> CriterionResult:
    if answer is None:
        return CriterionResult(key, "not_yet", f"Not answered yet. {no}")
    return CriterionResult(key, "met", yes) if answer else CriterionResult(key, "not_yet", no)


GAP_QUESTION = re.compile(r"\b(gaps?|covered|coverage|provision|saturated|under ?served|demand|"
                          r"(need|want|room for) (a|another|more|new) (npq )?hubs?|already (got |"
                          r"have )?(a |an )?(npq )?hubs?)\b"
                          r"|\b(missing|not (offered|available|covered|run|running)|(isnt|arent) "
                          r"(offered|available|covered|run))\b"
                          r"|\b(no ?one|nobody|noone|no hub|nothing|no school)s? (round|around|"
                          r"near|close to|in) (here|us|our area|this area)\b"
                          r"|\b(no ?one|nobody|noone)\b.{0,40}\b(runs?|offers?|delivers?|does)\b"
                          r".{0,20}\b(npqs?|them|it)\b")


def asks_about_gap(text: str | None) -> bool:
    """'is there a gap in our area?', 'is Bradford already covered?'."""
    return bool(text) and GAP_QUESTION.search(_words(text)[:500]) is not None


def area_line(session: Session, place: geo.Place) -> str:
    """The fit check's area finding on its own, for a school that asked about a gap."""
    return _area(FitAnswers(area=place), _coverage_for(session, place)).reason


def _coverage_for(session: Session, place: geo.Place | None) -> list[Coverage] | None:
    return area_coverage(session, place) if place and place.country == "England" else None


def _content(session: Session, kind: str) -> list[PartnerContent]:
    return list(session.scalars(select(PartnerContent).where(PartnerContent.kind == kind)
                                .order_by(PartnerContent.position)))


def _fitted(header: str, variants: list[list[str]]) -> str:
    """The header and the first variant of the lines that fits a phone screen."""
    for lines in variants:
        text = "\n".join([header, *lines])
        if len(text) <= PHONE_SIZE:
            return text
    return "\n".join([header, *variants[-1]])[:PHONE_SIZE]


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]


def _partner_buttons(current: str) -> tuple[Button, ...]:
    options = [Button("How do I become a partner?", "become_partner"),
               Button("What do you look for?", "partner_requirements"),
               Button("What do partners get?", "partner_benefits"),
               Button("Check our fit", "partner_fit_check"),
               Button("Talk to a person", "talk_to_human")]
    return tuple(b for b in options if b.intent != current)


def _words(text: str | None) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(re.sub(r"[^a-z0-9_]+", " ", text[:300].lower().replace("'", "")).split())
