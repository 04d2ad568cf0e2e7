"""Becoming a delivery partner: the stored content, the fit check as a table, the gap analysis
against the seeded hubs, and the enquiry row staff read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from npq import geo
from npq.answers import Answer
from npq.db.models import Hub, NetworkSetting, PartnerContent, PartnerEnquiry, Programme
from npq.intents import INTENTS
from npq.partners import (
    ORGANISATION_TYPES,
    UNDER_SERVED_MILES,
    Coverage,
    CriterionResult,
    FitAnswers,
    area_coverage,
    area_from_slot,
    area_to_slot,
    asks_about_gap,
    assess_fit,
    become_partner_answer,
    enquiry_recorded_answer,
    parse_facilitators,
    parse_organisation_type,
    parse_yes_no,
    partner_benefits_answer,
    partner_fit_answer,
    partner_requirements_answer,
    read_area,
    record_partner_enquiry,
)

NOW = dt.datetime(2026, 11, 22, 10, 30, tzinfo=dt.timezone.utc)
KEIGHLEY = geo.Place("Keighley", 53.86791, -1.90664, "England", "town")
TRURO = geo.Place("Truro", 50.26526, -5.05436, "England", "town")
CARDIFF = geo.Place("Cardiff", 51.48, -3.18, "Wales", "town")
# seed 002's four steps (know your area, the right set-up, shared values, capacity), capacity
# asked as a training space and facilitators
CRITERIA = ["know_your_area", "set_up", "shared_values", "facilities", "facilitators"]
OTHER_PROVIDERS = ("Other providers may cover your area too: check what's already there, so you "
                   "don't overlap.")


def assert_phone_sized_with_buttons(answer: Answer) -> None:
    assert answer.text and len(answer.text) < 900, len(answer.text)
    assert answer.buttons
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= {"npq", "organisation_type"}


def content(session: Session, kind: str) -> list[PartnerContent]:
    return list(session.scalars(select(PartnerContent).where(PartnerContent.kind == kind)
                                .order_by(PartnerContent.position)))


def by_key(results: list[CriterionResult]) -> dict[str, CriterionResult]:
    return {r.key: r for r in results}


# --- content answers ----------------------------------------------------------------------------

def test_become_partner_lists_the_stored_steps_in_order(session: Session) -> None:
    steps = content(session, "step")
    answer = become_partner_answer(session)
    lines = answer.text.splitlines()
    assert lines[0] == "Becoming a delivery partner, step by step:"
    assert [line.split(":")[0] for line in lines[1:]] == [
        f"{n}. {s.title}" for n, s in enumerate(steps, 1)]
    for phrase in ("memorandum of understanding", "marketing materials", "trained",
                   "experienced facilitators", "quality assurance", "one programme"):
        assert phrase in answer.text
    assert "become_partner" not in {b.intent for b in answer.buttons}
    assert "partner_fit_check" in {b.intent for b in answer.buttons}
    assert_phone_sized_with_buttons(answer)


def test_requirements_come_from_the_stored_criteria(session: Session) -> None:
    criteria = content(session, "criterion")
    answer = partner_requirements_answer(session)
    assert answer.text.startswith("What we look for in a delivery partner:")
    for criterion in criteria:
        assert f"• {criterion.title}" in answer.text
    assert_phone_sized_with_buttons(answer)


def test_benefits_come_from_the_stored_content_with_the_fee_note(session: Session) -> None:
    fee = session.get(NetworkSetting, "partner_fee_note")
    assert fee is not None
    answer = partner_benefits_answer(session)
    assert answer.text.startswith("What partners get:")
    for benefit in content(session, "benefit"):
        assert f"• {benefit.title}" in answer.text
    assert answer.text.endswith(fee.value)
    assert_phone_sized_with_buttons(answer)


def test_staff_edits_to_the_content_show_at_once(session: Session) -> None:
    session.add(PartnerContent(kind="step", key="celebrate", position=99, title="Celebrate",
                               description="Your first cohort graduates."))
    session.execute(delete(NetworkSetting).where(NetworkSetting.key == "partner_fee_note"))
    session.flush()
    steps = become_partner_answer(session).text
    assert steps.endswith("7. Celebrate: Your first cohort graduates.")
    assert "memorandum" not in partner_benefits_answer(session).text


def test_long_content_falls_back_to_titles_and_still_fits(session: Session) -> None:
    for step in content(session, "step"):
        step.description = "A very long description. " * 20
    session.flush()
    answer = become_partner_answer(session)
    assert answer.text.splitlines()[1] == "1. First discussion"
    assert_phone_sized_with_buttons(answer)


# --- parsers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind", [
    ("We're a teaching school hub", "teaching_school_hub"), ("TSH", "teaching_school_hub"),
    ("a teaching school", "teaching_school_hub"),
    ("teaching school alliance", "alliance"), ("a TSA", "alliance"),
    ("local schools partnership", "alliance"), ("a cluster of primaries", "alliance"),
    ("MAT", "trust"), ("multi-academy trust", "trust"), ("We're a trust of 12 schools", "trust"),
    ("diocesan trust", "trust"),
    ("federation", "federation"), ("two federated schools", "federation"),
    ("local authority", "local_authority"), ("the council", "local_authority"),
    ("single academy trust", "single_school"), ("just us, one school", "single_school"),
    ("a secondary school", "single_school"), ("single_school", "single_school"),
])
def test_parse_organisation_type(text: str, kind: str) -> None:
    assert parse_organisation_type(text) == kind
    assert parse_organisation_type(text.upper()) == kind


@pytest.mark.parametrize("text", [None, "", "banana", "🙂", "'; DROP TABLE hubs;--"])
def test_parse_organisation_type_returns_none_when_unclear(text: str | None) -> None:
    assert parse_organisation_type(text) is None


@pytest.mark.parametrize("text, value", [
    ("yes", True), ("Yes, a big hall", True), ("yep", True), ("we do", True), ("of course", True),
    ("no", False), ("Not really", False), ("we don't", False), ("nope", False),
    ("maybe", None), ("", None), (None, None), ("🙂", None),
])
def test_parse_yes_no(text: str | None, value: bool | None) -> None:
    assert parse_yes_no(text) is value


@pytest.mark.parametrize("text, value", [
    ("yes", "yes"), ("Yes, three of our SLT run CPD", "yes"), ("no", "no"),
    ("no, but keen to learn", "keen"), ("they'd like to learn", "keen"), ("willing", "keen"),
    ("hmm", None), (None, None),
])
def test_parse_facilitators(text: str | None, value: str | None) -> None:
    assert parse_facilitators(text) == value


# --- the pure assessment ----------------------------------------------------------------------

GAP = Coverage("NPQLPM", None, None)
FAR = Coverage("NPQEYL", "Far Hub", 40.0)
NEAR = Coverage("NPQH", "Near Hub", 3.2)


@pytest.mark.parametrize("answers, coverage, expected", [
    (FitAnswers(area=KEIGHLEY), [GAP, FAR, NEAR], (
        "to_check", "None of our hubs offers NPQLPM, NPQEYL within 25 miles of Keighley. "
        + OTHER_PROVIDERS)),
    (FitAnswers(area=KEIGHLEY, programme_code="NPQLPM"), [GAP, NEAR], (
        "to_check", "None of our hubs offers NPQLPM within 25 miles of Keighley. "
        + OTHER_PROVIDERS)),
    (FitAnswers(area=KEIGHLEY, programme_code="NPQH"), [GAP, NEAR], (
        "partly", "Our Near Hub already offers NPQH 3 miles away. None of our hubs offers NPQLPM "
        "within 25 miles of Keighley. " + OTHER_PROVIDERS)),
    (FitAnswers(area=KEIGHLEY, programme_code="NPQH"), [NEAR], (
        "not_yet", "Our Near Hub already offers NPQH 3 miles away. " + OTHER_PROVIDERS)),
    (FitAnswers(area=KEIGHLEY), [NEAR], (
        "not_yet", "Our hubs already offer every NPQ within 25 miles of Keighley, so a new hub "
        "would overlap with them.")),
    (FitAnswers(area=TRURO), [GAP, FAR], (
        "to_check", "None of our hubs offers any NPQ within 25 miles of Truro. "
        + OTHER_PROVIDERS)),
    (FitAnswers(area=CARDIFF), None, ("not_yet", "NPQs are delivered in England.")),
    (FitAnswers(), None, ("not_yet", "Tell us your town or postcode so we can check our hubs "
                                     "near you.")),
])
def test_know_your_area_speaks_for_our_hubs_and_points_to_other_providers(
        answers: FitAnswers, coverage: list[Coverage] | None, expected: tuple[str, str]) -> None:
    """Seed 002 asks about any provider's coverage; we only know our hubs, so a gap in ours is
    "to check" (regression: it was "met", and said "No hub offers ...")."""
    result = by_key(assess_fit(answers, coverage))["know_your_area"]
    assert (result.status, result.reason) == expected


@pytest.mark.parametrize("answers, key, status", [
    (FitAnswers(organisation_type="teaching_school_hub"), "set_up", "met"),
    (FitAnswers(organisation_type="trust"), "set_up", "met"),
    (FitAnswers(organisation_type="federation"), "set_up", "met"),
    (FitAnswers(organisation_type="alliance"), "set_up", "met"),
    (FitAnswers(organisation_type="single_school"), "set_up", "partly"),
    (FitAnswers(organisation_type="local_authority"), "set_up", "partly"),
    (FitAnswers(organisation_type=None), "set_up", "not_yet"),
    (FitAnswers(organisation_type="spaceship"), "set_up", "not_yet"),
    (FitAnswers(facilities=True), "facilities", "met"),
    (FitAnswers(facilities=False), "facilities", "not_yet"),
    (FitAnswers(facilities=None), "facilities", "not_yet"),
    (FitAnswers(facilitators="yes"), "facilitators", "met"),
    (FitAnswers(facilitators="keen"), "facilitators", "partly"),
    (FitAnswers(facilitators="no"), "facilitators", "not_yet"),
    (FitAnswers(facilitators=None), "facilitators", "not_yet"),
    (FitAnswers(works_with_others=True), "shared_values", "met"),
    (FitAnswers(works_with_others=False), "shared_values", "not_yet"),
    # asked, never assumed: regression, any trust was "met" without being asked
    (FitAnswers(organisation_type="trust"), "shared_values", "not_yet"),
    (FitAnswers(organisation_type="trust", works_with_others=False), "shared_values", "not_yet"),
    (FitAnswers(organisation_type="single_school", works_with_others=True), "shared_values",
     "met"),
])
def test_each_criterion(answers: FitAnswers, key: str, status: str) -> None:
    results = assess_fit(answers, None)
    assert [r.key for r in results] == CRITERIA
    result = by_key(results)[key]
    assert result.status == status and result.reason and "\n" not in result.reason


def test_criteria_keys_match_the_stored_criteria(session: Session) -> None:
    assert [c.key for c in content(session, "criterion")] == CRITERIA


# --- against the seeded hubs ------------------------------------------------------------------

def test_area_coverage_finds_the_nearest_hub_for_every_current_programme(session: Session) -> None:
    coverage = area_coverage(session, KEIGHLEY)
    current = session.scalars(select(Programme.code).where(Programme.status == "current")).all()
    assert [c.code for c in coverage] == sorted(current)
    hubs = session.scalars(select(Hub)).all()
    for item in coverage:
        offering = [h for h in hubs if item.code in {p.code for p in h.programmes}]
        nearest = min(offering, key=lambda h: geo.distance_miles(
            KEIGHLEY.latitude, KEIGHLEY.longitude, h.latitude, h.longitude))
        assert item.hub == nearest.name
        assert item.miles == pytest.approx(geo.distance_miles(
            KEIGHLEY.latitude, KEIGHLEY.longitude, nearest.latitude, nearest.longitude))
    npqh = next(c for c in coverage if c.code == "NPQH")
    assert npqh.hub == "Keighley NPQ Hub" and npqh.miles < 1 and not npqh.under_served


def test_cornwall_is_under_served_for_every_programme(session: Session) -> None:
    coverage = area_coverage(session, TRURO)
    assert all(c.under_served and c.miles > UNDER_SERVED_MILES for c in coverage)


def test_removing_the_hubs_offering_a_programme_opens_a_gap(session: Session) -> None:
    for hub in session.scalars(select(Hub)):
        hub.programmes = [p for p in hub.programmes if p.code != "NPQLPM"]
    session.flush()
    lpm = next(c for c in area_coverage(session, KEIGHLEY) if c.code == "NPQLPM")
    assert lpm.hub is None and lpm.miles is None and lpm.under_served
    answer = partner_fit_answer(session, FitAnswers(area=KEIGHLEY, programme_code="NPQLPM"))
    assert ("• Know your area: to check. None of our hubs offers NPQLPM within 25 miles of "
            "Keighley. " + OTHER_PROVIDERS) in answer.text


def test_a_county_is_covered_by_hubs_near_any_of_its_main_towns(session: Session) -> None:
    cumbria = read_area("we're a small trust in cumbria, whats in it for us if we partner "
                        "with you").place
    assert cumbria is not None and (cumbria.name, cumbria.kind) == ("Cumbria", "county")
    npqh = next(c for c in area_coverage(session, cumbria) if c.code == "NPQH")
    # the Carlisle hub, measured from Carlisle (not from the middle of the county, 26 miles off)
    assert (npqh.hub, npqh.near) == ("Cumbria NPQ Hub", "Carlisle") and npqh.miles < 1
    answer = partner_fit_answer(session, FitAnswers(organisation_type="trust", area=cumbria,
                                                    programme_code="NPQH"))
    area_line = answer.text.splitlines()[1]
    assert area_line.startswith("• Know your area: partly. Our Cumbria NPQ Hub already offers "
                                "NPQH in Carlisle. None of our hubs offers EHCO, NPQEL, ")
    assert area_line.endswith(" within 25 miles of Cumbria's main towns. " + OTHER_PROVIDERS)
    assert "Scotland" not in answer.text
    assert_phone_sized_with_buttons(answer)


def test_a_county_whose_towns_all_have_our_hubs_nearby_is_no_gap(session: Session) -> None:
    west_yorkshire = read_area("West Yorkshire").place
    assert west_yorkshire is not None and west_yorkshire.kind == "county"
    answer = partner_fit_answer(session, FitAnswers(area=west_yorkshire, programme_code="NPQH"))
    assert answer.text.splitlines()[1] == (
        "• Know your area: not yet. Our Leeds NPQ Hub already offers NPQH in Leeds. "
        + OTHER_PROVIDERS)


def test_the_fit_answer_reads_each_criterion_and_offers_to_pass_it_on(session: Session) -> None:
    answers = FitAnswers(organisation_type="trust", area=TRURO, facilities=True,
                         facilitators="keen", programme_code="NPQH", works_with_others=True)
    answer = partner_fit_answer(session, answers)
    lines = answer.text.splitlines()
    assert lines == [
        "Here's how you match what we look for:",
        "• Know your area: to check. None of our hubs offers any NPQ within 25 miles of Truro. "
        + OTHER_PROVIDERS,
        "• The right set-up: met. As a multi-academy trust, you have the people and reach to "
        "run training.",
        "• Shared values: met. You already work with other schools beyond your own.",
        "• Capacity: a training space: met. You have a good training space.",
        "• Capacity: facilitators: partly. Keen is a good start: new facilitators are trained, "
        "then supported by experienced ones.",
        "Shall I pass this to our partnerships team so they can talk it through with you?"]
    titles = [c.title for c in content(session, "criterion")]
    assert [line.split(": ")[0] for line in lines[1:4]] == [f"• {t}" for t in titles[:3]]
    assert [(b.intent, b.entities) for b in answer.buttons][:2] == [("affirm", {}), ("deny", {})]
    assert_phone_sized_with_buttons(answer)


def test_record_partner_enquiry_stores_answers_and_assessment(session: Session) -> None:
    answers = FitAnswers(organisation_type="alliance", area=TRURO, facilities=False,
                         facilitators="yes", programme_code="NPQH", works_with_others=True)
    enquiry = record_partner_enquiry(session, 4242, answers, now=NOW,
                                     organisation="Kernow Learning Partnership")
    session.commit()
    stored = session.scalars(select(PartnerEnquiry).where(PartnerEnquiry.chat_id == "4242")).one()
    assert stored.id == enquiry.id and stored.status == "new"
    assert stored.organisation == "Kernow Learning Partnership"
    assert stored.organisation_type == "alliance" and stored.area == "Truro"
    assert stored.answers["area"]["latitude"] == pytest.approx(TRURO.latitude)
    assert stored.answers["facilitators"] == "yes" and stored.answers["facilities"] is False
    assert stored.answers["works_with_others"] is True
    statuses = {c["key"]: c["status"] for c in stored.assessment["criteria"]}
    assert statuses == {"know_your_area": "to_check", "set_up": "met", "shared_values": "met",
                        "facilities": "not_yet", "facilitators": "met"}
    assert "NPQH" in stored.assessment["under_served"]
    assert stored.assessment["threshold_miles"] == UNDER_SERVED_MILES
    assert stored.created_at.replace(tzinfo=dt.timezone.utc) == NOW


def test_an_enquiry_with_nothing_answered_is_still_stored(session: Session) -> None:
    enquiry = record_partner_enquiry(session, "chat-1", FitAnswers(organisation_type="weird"),
                                     now=NOW, organisation="  ")
    assert enquiry.organisation is None and enquiry.organisation_type is None
    assert enquiry.area is None and enquiry.assessment["under_served"] == []


@pytest.mark.parametrize("chat_id", ["", "   "])
def test_an_enquiry_needs_a_chat(session: Session, chat_id: str) -> None:
    with pytest.raises(ValueError):
        record_partner_enquiry(session, chat_id, FitAnswers(), now=NOW)


def test_the_confirmation_gives_the_office_contact(session: Session) -> None:
    email = session.get(NetworkSetting, "office_email")
    assert email is not None
    answer = enquiry_recorded_answer(session)
    assert "passed your answers to our partnerships team" in answer.text
    assert email.value in answer.text
    assert_phone_sized_with_buttons(answer)


def test_organisation_labels_cover_the_parser() -> None:
    assert {parse_organisation_type(key) for key in ORGANISATION_TYPES} == set(ORGANISATION_TYPES)


@pytest.mark.parametrize("text, name", [("Keighley", "Keighley"), ("BD21", "BD21"),
                                        ("we're based near Keighley", "Keighley")])
def test_read_area(text: str, name: str) -> None:
    resolution = read_area(text)
    assert resolution.place is not None and resolution.place.name == name


@pytest.mark.parametrize("text", [None, "", "Xyzzyville", "🙂", "x" * 4000])
def test_read_area_of_nonsense_is_empty(text: str | None) -> None:
    assert read_area(text).place is None


def test_the_area_survives_a_round_trip_through_the_form_slot() -> None:
    assert area_from_slot(area_to_slot(KEIGHLEY)) == KEIGHLEY
    cumbria = read_area("Cumbria").place
    assert cumbria is not None and area_from_slot(area_to_slot(cumbria)) == cumbria
    partial = area_from_slot({"name": "Somewhere", "latitude": "53.8", "longitude": -1.9})
    assert partial is not None and partial.country == "England" and partial.name == "Somewhere"


@pytest.mark.parametrize("value", [None, "Keighley", {}, {"latitude": 999, "longitude": 0},
                                   {"latitude": "north", "longitude": 1}, ["53", "-1"]])
def test_a_malformed_slot_gives_no_area(value: object) -> None:
    assert area_from_slot(value) is None


@pytest.mark.parametrize("unsupported", ["Most new partners", "about 20 adults",
                                         "a few sessions each term"])
def test_partner_wording_keeps_to_what_the_seeds_say(session: Session, unsupported: str) -> None:
    """Regression: phrases nothing in the seeds supports were presented as the network's."""
    from actions.support import replies

    stored = [f"{c.title} {c.description} {c.question or ''}"
              for c in session.scalars(select(PartnerContent))]
    assert not [text for text in stored if unsupported.lower() in text.lower()]
    assert not [name for name, reply in replies().items()
                if unsupported.lower() in reply["text"].lower()]
    assert "New partners often start by delivering one programme" in \
        become_partner_answer(session).text


@pytest.mark.parametrize("text, gap", [
    ("is there a gap in our area?", True),
    ("is Bradford already covered?", True),
    ("my school is in a rural bit of Cumbria and nobody round here seems to run NPQs, could we?",
     True),
    ("there's no hub near us at all", True),
    ("no one near us offers them", True),
    ("nobody on our staff has done one", False),
    ("what do partners get?", False),
])
def test_a_school_saying_nobody_near_it_runs_npqs_asks_about_the_gap(text: str, gap: bool) -> None:
    assert asks_about_gap(text) is gap
