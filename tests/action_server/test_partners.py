"""Schools becoming delivery partners: the information answers, the fit-check form (reading
answers, rejecting places outside England, leaving questions alone, a shared location), the
assessment, and the enquiry stored for staff when the user says yes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from sqlalchemy.orm import Session, sessionmaker

from actions.follow_up import ActionFollowUp
from actions.partner_fit import (
    ActionAskFacilitators,
    ActionAskFacilities,
    ActionAskFirstProgramme,
    ActionAskOrganisationType,
    ActionAskPartnerArea,
    ActionAskWorksWithOthers,
    ValidatePartnerFitForm,
)
from actions.partners import (
    FORM_SLOTS,
    ActionBecomePartner,
    ActionPartnerBenefits,
    ActionPartnerFit,
    ActionPartnerRequirements,
)
from actions.programmes import ActionProgrammeInfo
from npq.db.models import PartnerContent, PartnerEnquiry
from tests.action_server.conftest import NOW, as_utc, entity, rows, run, tracker, validate

BRADFORD = {"name": "Bradford", "latitude": 53.79391, "longitude": -1.75206,
            "country": "England", "kind": "town"}
ANSWERED = {"organisation_type": "trust", "partner_area": BRADFORD, "works_with_others": "no",
            "facilities": "yes", "facilitators": "keen", "first_programme": "NPQLT"}
MENU = {"become_partner": "How do I become a partner?",
        "partner_requirements": "What do you look for?",
        "partner_benefits": "What do partners get?", "partner_fit_check": "Check our fit",
        "talk_to_human": "Talk to a person"}


@pytest.mark.parametrize("action, intent, header, line", [
    (ActionBecomePartner(), "become_partner", "Becoming a delivery partner, step by step:",
     "1. First discussion: Talk to the network about your area, your set-up and which "
     "programmes you could offer."),
    (ActionPartnerRequirements(), "partner_requirements",
     "What we look for in a delivery partner:",
     "• Know your area: There should be an NPQ gap and need in your area."),
    (ActionPartnerBenefits(), "partner_benefits", "What partners get:", "• An income stream"),
])
async def test_partner_information_with_the_other_partner_questions_as_buttons(
        action: Any, intent: str, header: str, line: str) -> None:
    outcome = await run(action, tracker("tell me about partnership", intent))
    lines = outcome.text.split("\n")
    assert lines[0] == header and line in lines
    assert len(outcome.text) <= 880  # fits a phone screen
    assert outcome.buttons == [{"title": title, "payload": f"/{other}"}
                               for other, title in MENU.items() if other != intent]
    assert outcome.events == []


def asked(slot: str, **known: Any) -> dict[str, Any]:
    return {"form": "partner_fit_form", "requested_slot": slot, "slots": known}


# (message, intent, entities, where the form is) -> the slots validated
ANSWERS = [
    ("we're a MAT in Bradford, would we be a good fit?", "partner_fit_check",
     [entity("location", "Bradford")], {"form": "partner_fit_form"},
     {"organisation_type": "trust", "partner_area": BRADFORD, "works_with_others": "yes"}),
    ("would we be a good fit?", "partner_fit_check", [], {"form": "partner_fit_form"}, {}),
    ("we are a federation of three schools", "inform", [], asked("organisation_type"),
     {"organisation_type": "federation", "works_with_others": "yes"}),
    # criteria said in passing, whatever was asked, are taken; the place is asked again
    ("we're a secondary academy, part of a MAT with 6 schools", "inform", [],
     asked("partner_area", organisation_type="single_school"),
     {"works_with_others": "yes", "organisation_type": "trust"}),
    ("we've got a lecture theatre and meeting rooms, yes", "inform", [],
     asked("works_with_others"), {"facilities": "yes"}),  # the question is asked again
    ("probably the SENCO one, we have a strong SEND team", "inform",
     [entity("npq", "NPQSENCO")], asked("facilitators"), {"first_programme": "NPQSENCO"}),
    ("a couple of our deputies run CPD across the trust already", "inform", [],
     asked("facilities"), {"facilitators": "yes", "works_with_others": "yes",
                           "organisation_type": "trust"}),
    ("Bradfrd", "inform", [], asked("partner_area", organisation_type="trust"),
     {"partner_area": BRADFORD}),
    ("yes", "affirm", [], asked("facilities", partner_area=BRADFORD), {"facilities": "yes"}),
    ("we don't, sadly", "inform", [], asked("facilities"), {"facilities": "no"}),
    ("we'd be keen to learn", "inform", [], asked("facilitators"), {"facilitators": "keen"}),
    # a button's words typed are that button, whatever the model reads in them
    ("Keen to learn", "register_interest", [], asked("facilitators"), {"facilitators": "keen"}),
    ("not yet!", "deny", [], asked("facilitators"), {"facilitators": "no"}),
    ("I'd like to register my interest", "register_interest", [], asked("facilitators"), {}),
    ('/inform{"answer": "no"}', "inform", [entity("answer", "no")], asked("works_with_others"),
     {"works_with_others": "no"}),
    ("yes, we lead a local network of primaries", "inform", [], asked("works_with_others"),
     {"works_with_others": "yes"}),
    # what the school is can answer it
    ("we're a small federation of 3 primaries", "inform", [],
     asked("works_with_others", organisation_type="single_school"),
     {"works_with_others": "yes", "organisation_type": "federation"}),
    ("we're part of a multi academy trust", "inform", [], asked("works_with_others"),
     {"works_with_others": "yes", "organisation_type": "trust"}),
    ("we're just one school", "inform", [], asked("works_with_others"), {}),
    ("NPQLT", "inform", [entity("npq", "NPQLT")], asked("first_programme"),
     {"first_programme": "NPQLT"}),
    ("the headship one", "inform", [], asked("first_programme"), {"first_programme": "NPQH"}),
    ("not sure yet", "inform", [], asked("first_programme"), {"first_programme": "not_sure"}),
    ("hmm", "inform", [], asked("facilities"), {}),
]


@pytest.mark.parametrize("text, intent, entities, where, expected", ANSWERS)
async def test_the_fit_check_reads_each_answer(
        text: str, intent: str, entities: list[dict[str, Any]], where: dict[str, Any],
        expected: dict[str, Any]) -> None:
    outcome = await validate(ValidatePartnerFitForm(), tracker(text, intent, entities, **where))
    assert outcome.slots == expected
    assert outcome.messages == []


def said(text: str, intent: str, entities: list[dict[str, Any]] | None = None
         ) -> list[dict[str, Any]]:
    """An earlier turn of the conversation: the user's message and the answer's action."""
    return [{"event": "user", "text": text, "parse_data": {
                "text": text, "intent": {"name": intent, "confidence": 0.99},
                "entities": entities or []}},
            {"event": "action", "name": "action_become_partner"},
            {"event": "action", "name": "action_listen"}]


async def test_the_fit_check_remembers_what_the_school_said_about_itself_earlier() -> None:
    earlier = said("hello, we're a primary school in Keighley thinking of becoming a delivery "
                   "partner. what's involved?", "become_partner", [entity("location", "Keighley")])
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        "is there a gap near us?", "partner_fit_check", events=earlier))
    assert outcome.slots["organisation_type"] == "single_school"
    assert outcome.slots["partner_area"]["name"] == "Keighley"
    assert outcome.slots["partner_area"]["country"] == "England"


async def test_the_fit_check_does_not_take_a_place_from_a_candidates_question() -> None:
    earlier = [*said("is there a hub near Leeds", "find_hub", [entity("location", "Leeds")]),
               {"event": "session_started"},
               *said("we're a trust in york", "become_partner", [entity("location", "York")])]
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        "would we make a good partner", "partner_fit_check", events=earlier[:3]))
    assert outcome.slots == {}  # a candidate's hub search says nothing about a partner's area
    later = await validate(ValidatePartnerFitForm(), tracker(
        "would we make a good partner", "partner_fit_check", events=earlier))
    assert later.slots["organisation_type"] == "trust"
    assert later.slots["partner_area"]["name"] == "York"


async def test_an_unknown_first_programme_is_explained_and_asked_again() -> None:
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        "basket weaving", "inform", **asked("first_programme")))
    assert outcome.slots == {"first_programme": None}
    assert outcome.text.startswith("Sorry, I don't know that programme.")


async def test_a_button_answer_for_the_organisation_type_is_kept() -> None:
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        '/inform{"organisation_type": "trust"}', "inform", [entity("organisation_type", "trust")],
        mapped={"organisation_type": "trust"}, **asked("organisation_type")))
    assert outcome.slots == {"organisation_type": "trust"}


@pytest.mark.parametrize("place, reply, buttons", [
    ("Cardiff", "Cardiff is in Wales. Our hubs deliver NPQs in England only.", []),
    ("Edinburgh", "Edinburgh is in Scotland. Our hubs deliver NPQs in England only.", []),
    ("ZZ99 9ZZ", "Sorry, I couldn't find that place.", []),
    ("Boton", "Did you mean one of these?", [
        {"title": "Bolton", "payload": '/inform{"location": "Bolton"}'},
        {"title": "Boston", "payload": '/inform{"location": "Boston"}'}]),
])
async def test_an_area_outside_england_or_unknown_is_refused_and_asked_again(
        place: str, reply: str, buttons: list[dict[str, str]]) -> None:
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        place, "inform", **asked("partner_area", organisation_type="trust")))
    assert outcome.text == reply
    for button in buttons:
        assert button in outcome.buttons
    assert outcome.slots == {"partner_area": None}


CUMBRIA = {"name": "Cumbria", "latitude": 54.53169, "longitude": -3.1332, "country": "England",
           "kind": "county"}


@pytest.mark.parametrize("text, intent, entities, where", [
    ("Cumbria", "inform", [], asked("partner_area", organisation_type="trust")),
    ("cumbira", "inform", [], asked("partner_area", organisation_type="trust")),
    ("we're a small trust in cumbria, whats in it for us if we partner with you", "inform", [],
     asked("partner_area", organisation_type="trust")),
    ("we're a small trust in cumbria, whats in it for us if we partner with you",
     "partner_fit_check", [entity("location", "cumbria")], {"form": "partner_fit_form"}),
])
async def test_a_county_is_accepted_as_the_area(
        text: str, intent: str, entities: list[dict[str, Any]], where: dict[str, Any]) -> None:
    """Regression: "Cumbria" was refused with "Isle of Cumbrae is in Scotland. Our hubs
    deliver NPQs in England only." """
    outcome = await validate(ValidatePartnerFitForm(), tracker(text, intent, entities, **where))
    assert outcome.messages == []
    assert outcome.slot("partner_area") == CUMBRIA


async def test_the_assessment_for_a_county_checks_the_gap_around_its_main_towns() -> None:
    answered = {**ANSWERED, "partner_area": CUMBRIA, "first_programme": "NPQH"}
    outcome = await run(ActionPartnerFit(), tracker("NPQH", "inform", slots=answered))
    area = outcome.text.split("\n")[1]
    assert area.startswith("• Know your area: partly. Our Cumbria NPQ Hub already offers NPQH in "
                           "Carlisle. None of our hubs offers EHCO, ")
    assert area.endswith("within 25 miles of Cumbria's main towns. Other providers may cover "
                         "your area too: check what's already there, so you don't overlap.")


async def test_a_shared_location_answers_the_area_question() -> None:
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        '/find_hub{"latitude": 53.8679, "longitude": -1.9066}', "find_hub",
        [entity("latitude", 53.8679), entity("longitude", -1.9066)],
        **asked("partner_area", organisation_type="trust")))
    assert outcome.slots == {"partner_area": {
        "name": "your location", "latitude": 53.8679, "longitude": -1.9066,
        "country": "England", "kind": "coordinates"}}


@pytest.mark.parametrize("slot", ["organisation_type", "partner_area", "works_with_others",
                                  "facilities"])
async def test_a_question_about_hubs_mid_form_is_not_taken_as_the_area(slot: str) -> None:
    """Regression: the place in "is there a hub near Leeds?" used to become the partner area,
    so the form took the turn and the question went unanswered."""
    outcome = await validate(ValidatePartnerFitForm(), tracker(
        "is there a hub near Leeds?", "find_hub", [entity("location", "Leeds")], **asked(slot)))
    assert outcome.slots == {}
    assert outcome.messages == []


YES_NO = [{"title": "Yes", "payload": '/inform{"answer": "yes"}'},
          {"title": "No", "payload": '/inform{"answer": "no"}'}]
# (question, slot, text, buttons, answer each button's payload fills the slot with)
QUESTIONS = [
    (ActionAskOrganisationType(), "organisation_type",
     "Let's see whether a partnership would suit you. What kind of organisation are you?", [
         {"title": "Teaching school hub",
          "payload": '/inform{"organisation_type": "teaching_school_hub"}'},
         {"title": "Multi-academy trust", "payload": '/inform{"organisation_type": "trust"}'},
         {"title": "Federation", "payload": '/inform{"organisation_type": "federation"}'},
         {"title": "Alliance or network",
          "payload": '/inform{"organisation_type": "alliance"}'},
         {"title": "A single school", "payload": '/inform{"organisation_type": "single_school"}'},
     ]),
    (ActionAskWorksWithOthers(), "works_with_others",
     "Do you already work with other schools beyond your own, for example through a network, "
     "alliance or trust?", YES_NO),
    (ActionAskFacilities(), "facilities",
     "Do you have a good training space for face-to-face sessions?", YES_NO),
    (ActionAskFacilitators(), "facilitators",
     "Do you have senior leaders who run CPD, or who are keen to build their facilitation "
     "experience?", [{"title": "Yes, experienced", "payload": '/inform{"answer": "yes"}'},
                     {"title": "Keen to learn", "payload": '/inform{"answer": "keen"}'},
                     {"title": "Not yet", "payload": '/inform{"answer": "no"}'}]),
]


@pytest.mark.parametrize("action, slot, text, buttons", QUESTIONS,
                         ids=[q[1] for q in QUESTIONS])
async def test_each_fit_question_offers_answers_the_form_accepts(
        action: Any, slot: str, text: str, buttons: list[dict[str, str]]) -> None:
    outcome = await run(action, tracker("yes", "partner_fit_check", **asked(slot)))
    assert outcome.text == text and outcome.buttons == buttons
    assert len(outcome.messages) == 1 and outcome.custom == [] and outcome.events == []
    for button in buttons:  # the form reads every button's answer
        name, value = next(iter(json.loads(button["payload"].removeprefix("/inform")).items()))
        answered = await validate(ValidatePartnerFitForm(), tracker(
            button["payload"], "inform", [entity(name, value)],
            mapped={name: value} if name == "organisation_type" else None, **asked(slot)))
        assert answered.slots == {slot: value}, button


async def test_the_fit_questions_are_the_ones_staff_keep_in_partner_yaml(
        database: sessionmaker[Session]) -> None:
    with database() as session:
        criterion = session.get(PartnerContent, ("criterion", "facilities"))
        assert criterion is not None
        criterion.question = "Could you host face-to-face sessions?"
        session.commit()
    outcome = await run(ActionAskFacilities(), tracker("yes", "affirm", **asked("facilities")))
    assert outcome.text == "Could you host face-to-face sessions?"
    with database() as session:  # without the criterion, replies.yml's own words
        session.delete(session.get(PartnerContent, ("criterion", "facilities")))
        session.commit()
    outcome = await run(ActionAskFacilities(), tracker("yes", "affirm", **asked("facilities")))
    assert outcome.text == "Do you have a good training space for face-to-face sessions?"


async def test_the_area_question_asks_for_a_town_or_postcode_and_offers_a_shared_location(
) -> None:
    outcome = await run(ActionAskPartnerArea(), tracker("trust", "inform", **asked(
        "partner_area", organisation_type="trust")))
    assert outcome.messages[0]["text"] == (
        "Which town or postcode are you in? I'll check which NPQs our hubs already offer near "
        "you. (The first half of your postcode, like BD21, is enough.)")
    assert outcome.buttons == [] and outcome.events == []
    assert outcome.custom == [{"ask_location": True}]  # bot.rasa_client.wants_location
    assert len(outcome.messages) == 1  # one message, as the domain response was


async def test_the_first_programme_question_lists_current_programmes_and_not_sure() -> None:
    outcome = await run(ActionAskFirstProgramme(), tracker("yes", "affirm", **asked(
        "first_programme")))
    assert outcome.text == ("New partners often start by delivering one programme. Which would "
                            "you start with?")
    assert len(outcome.buttons) == 12 and "NPQML" not in str(outcome.buttons)
    assert outcome.buttons[-1] == {"title": "Not sure yet",
                                   "payload": '/inform{"answer": "not_sure"}'}
    assert outcome.events == []


async def test_the_assessment_goes_criterion_by_criterion_then_offers_to_tell_the_team() -> None:
    outcome = await run(ActionPartnerFit(), tracker("NPQLT", "inform", slots=ANSWERED))
    assert outcome.text.split("\n") == [
        "Here's how you match what we look for:",
        "• Know your area: not yet. Our Bradford NPQ Hub already offers NPQLT less than a mile "
        "away. Other providers may cover your area too: check what's already there, so you "
        "don't overlap.",
        "• The right set-up: met. As a multi-academy trust, you have the people and reach to run "
        "training.",
        "• Shared values: not yet. We'd talk about working with other schools and your local "
        "network.",
        "• Capacity: a training space: met. You have a good training space.",
        "• Capacity: facilitators: partly. Keen is a good start: new facilitators are trained, "
        "then supported by experienced ones.",
        "Shall I pass this to our partnerships team so they can talk it through with you?"]
    assert outcome.buttons == [
        {"title": "Yes, pass it on", "payload": "/affirm"},
        {"title": "Not now", "payload": "/deny"},
        {"title": "What do partners get?", "payload": "/partner_benefits"}]
    assert outcome.events == [*(SlotSet(s, None) for s in FORM_SLOTS), SlotSet(
        "pending", {"kind": "partner_enquiry", "answers": ANSWERED})]


async def test_yes_stores_the_enquiry_with_answers_and_assessment(
        database: sessionmaker[Session]) -> None:
    fit = await run(ActionPartnerFit(), tracker("NPQLT", "inform", slots=ANSWERED,
                                                sender="school-1"))
    outcome = await run(ActionFollowUp(), tracker(
        "yes please", "affirm", slots={"pending": fit.slot("pending")}, sender="school-1"))

    assert outcome.text.startswith("Thank you: I've passed your answers to our partnerships "
                                   "team, and they'll be in touch to arrange a first discussion.")
    assert "npq@network-office.example.org" in outcome.text
    assert outcome.slots == {"pending": None}
    [enquiry] = rows(database, PartnerEnquiry)
    assert (enquiry.chat_id, enquiry.organisation_type, enquiry.area, enquiry.status) == (
        "school-1", "trust", "Bradford", "new")
    assert as_utc(enquiry.created_at) == NOW
    assert enquiry.answers["facilities"] is True and enquiry.answers["works_with_others"] is False
    assert (enquiry.answers["facilitators"], enquiry.answers["programme_code"]) == ("keen",
                                                                                    "NPQLT")
    assert enquiry.answers["area"]["name"] == "Bradford"
    criteria = {c["key"]: c["status"] for c in enquiry.assessment["criteria"]}
    assert criteria == {"know_your_area": "not_yet", "set_up": "met", "shared_values": "not_yet",
                        "facilities": "met", "facilitators": "partly"}
    assert enquiry.assessment["threshold_miles"] == 25
    assert "NPQLT" not in enquiry.assessment["under_served"]


async def test_no_stores_nothing(database: sessionmaker[Session]) -> None:
    outcome = await run(ActionFollowUp(), tracker("not now", "deny", slots={"pending": {
        "kind": "partner_enquiry", "answers": ANSWERED}}, sender="school-2"))
    assert outcome.text == ("No problem: I haven't passed anything on. You can run the check "
                            "again at any time.")
    assert outcome.events == [SlotSet("pending", {"kind": "partner_enquiry",
                                                  "answers": ANSWERED, "declined": True})]
    assert rows(database, PartnerEnquiry) == []


def declined_just_now() -> list[dict[str, Any]]:
    return [{"event": "user", "text": "not now", "parse_data": {"intent": {"name": "deny"}}},
            {"event": "action", "name": "action_follow_up"},
            {"event": "action", "name": "action_listen"}]


async def test_a_change_of_mind_straight_after_not_now_passes_the_answers_on(
        database: sessionmaker[Session]) -> None:
    declined = {"kind": "partner_enquiry", "answers": ANSWERED, "declined": True}
    outcome = await run(ActionFollowUp(), tracker(
        "actually yes, send it anyway", "affirm", slots={"pending": declined},
        events=declined_just_now(), sender="school-4"))
    assert outcome.text.startswith("Thank you: I've passed your answers")
    assert len(rows(database, PartnerEnquiry)) == 1
    later = await run(ActionFollowUp(), tracker(
        "yes", "affirm", slots={"pending": declined}, sender="school-5",
        events=[*declined_just_now(), {"event": "user", "text": "when is the npqh deadline"},
                {"event": "action", "name": "action_deadlines"},
                {"event": "action", "name": "action_listen"}]))
    assert not later.text.startswith("Thank you")  # a yes to something later is not that yes
    assert len(rows(database, PartnerEnquiry)) == 1


async def test_an_enquiry_with_nasty_answers_is_stored_safely(
        database: sessionmaker[Session]) -> None:
    answers = {"organisation_type": "'; DROP TABLE hubs;--", "partner_area": {"latitude": "NaN"},
               "facilities": 3, "facilitators": "🙂" * 50, "works_with_others": None,
               "first_programme": "x" * 4000}
    outcome = await run(ActionFollowUp(), tracker("yes", "affirm", slots={"pending": {
        "kind": "partner_enquiry", "answers": answers}}, sender="school-3"))
    assert outcome.text.startswith("Thank you: I've passed your answers")
    [enquiry] = rows(database, PartnerEnquiry)
    assert (enquiry.organisation_type, enquiry.area, enquiry.answers["facilities"]) == (
        None, None, None)
    assert enquiry.answers["facilitators"] == "🙂" * 50


async def test_a_gap_question_with_the_area_known_gets_the_area_before_the_questions() -> None:
    """'is there a gap in our area?' started five questions and answered the area only at
    their end."""
    known = {"organisation_type": "trust", "partner_area": CUMBRIA}
    outcome = await run(ActionAskWorksWithOthers(), tracker(
        "we're a trust in cumbria, is there a gap in our area?", "partner_fit_check",
        [entity("location", "Cumbria")], form="partner_fit_form", slots=known))
    area, question = outcome.messages[0]["text"], outcome.messages[1]["text"]
    assert area.startswith("Your area first: None of our hubs offers ")
    assert "within 25 miles of Cumbria's main towns." in area
    assert area.endswith("To see whether you'd make a good partner overall, a few quick "
                         "questions.")
    assert question.startswith("Do you already work with other schools beyond your own")
    plain = await run(ActionAskWorksWithOthers(), tracker(
        "we're a trust in cumbria, would we be a good partner?", "partner_fit_check",
        [entity("location", "Cumbria")], form="partner_fit_form", slots=known))
    assert len(plain.messages) == 1 and not plain.text.startswith("Your area first")


@pytest.mark.parametrize("text, opening", [
    ("what kind of rooms would you need", "Capacity: a training space: You should have a good "
                                          "training space for the face-to-face sessions."),
    ("how many facilitators would we need", "Capacity: facilitators: You need senior leaders "
                                            "experienced in running CPD"),
    ("does it have to be an outstanding school", "The right set-up: The ideal partner is a "
                                                 "teaching school"),
])
async def test_a_question_about_one_requirement_gets_that_one_first(text: str,
                                                                    opening: str) -> None:
    """'what kind of rooms would you need' and 'how many facilitators' both got the whole
    list."""
    outcome = await run(ActionPartnerRequirements(), tracker(text, "partner_requirements"))
    assert outcome.text.startswith(opening)
    assert "\n\nWe also look at: know your area, " in outcome.text
    whole = await run(ActionPartnerRequirements(), tracker("what do you look for in a partner",
                                                           "partner_requirements"))
    assert whole.text.startswith("What we look for in a delivery partner:")


async def test_asking_what_is_missing_in_the_schools_area_gets_the_area_finding() -> None:
    """'what programmes are missing there' after the area finding got the list of NPQs."""
    outcome = await run(ActionProgrammeInfo(), tracker(
        "what programmes are missing there", "programme_info", form="partner_fit_form",
        requested_slot="organisation_type", slots={"partner_area": CUMBRIA}))
    assert outcome.text.startswith("None of our hubs offers")
    assert "within 25 miles of Cumbria's main towns" in outcome.text
    candidate = await run(ActionProgrammeInfo(), tracker(
        "what programmes are missing from npqh", "programme_info",
        [entity("npq", "NPQH")]))  # no school area: a candidate's question
    assert candidate.text.startswith("NPQH: NPQ for Headship")


async def test_joining_and_what_we_get_asked_together_are_both_answered() -> None:
    """The trust asking 'what would the commitment look like and what support would we get?'
    got the steps only."""
    outcome = await run(ActionBecomePartner(), tracker(
        "Good afternoon, I'm the CEO of a 12-school trust in Lincolnshire. We're considering "
        "becoming an NPQ delivery partner. What would the commitment look like and what support "
        "would we get?", "become_partner"))
    first, second = [m["text"] for m in outcome.messages]
    assert first.startswith("Becoming a delivery partner, step by step:")
    assert second.startswith("What partners get:")
    assert outcome.messages[0].get("buttons") in (None, [])


@pytest.mark.parametrize("action", [ActionBecomePartner(), ActionPartnerRequirements()])
async def test_whether_partners_deliver_every_npq_is_answered(action: Any) -> None:
    """'Do partners have to deliver all the NPQs?' got the list of what we look for."""
    outcome = await run(action, tracker("Do partners have to deliver all the NPQs?",
                                        "partner_requirements"))
    assert outcome.text.startswith("Not all at once. New partners often start by delivering one "
                                   "programme")
