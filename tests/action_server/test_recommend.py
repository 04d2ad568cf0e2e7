"""Which NPQ suits me: the form asks only for what is missing, reads facts from free text in any
order, keeps questions asked mid-form out of its slots, and the recommendation it ends with."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet

from actions.recommend import (
    ActionAskAmbition,
    ActionAskPhase,
    ActionAskRole,
    ActionRecommend,
    ValidateRecommendForm,
)
from tests.action_server.conftest import entity, run, tracker, validate


def inform(role: str) -> str:
    return f'/inform{{"role": "{role}"}}'


@pytest.mark.parametrize("action, question, first, last", [
    (ActionAskRole(), "Happy to help you choose. What's your role at the moment? For example "
                      "\"a head of department\" or \"a SENCO\".",
     {"title": "Classroom teacher", "payload": inform("classroom_teacher")},
     {"title": "Early years leader", "payload": inform("early_years_lead")}),
    (ActionAskPhase(), "Which phase do you work in?",
     {"title": "Primary", "payload": '/inform{"phase": "primary"}'},
     {"title": "Early years", "payload": '/inform{"phase": "early_years"}'}),
    (ActionAskAmbition(), "What would you like to do next in your career?",
     {"title": "Becoming a headteacher", "payload": '/inform{"ambition": "headship"}'},
     {"title": "Not sure yet", "payload": '/inform{"ambition": "not_sure"}'}),
])
async def test_each_question_offers_the_common_answers_as_buttons(
        action: Any, question: str, first: dict[str, str], last: dict[str, str]) -> None:
    outcome = await run(action, tracker("which npq?", "recommend_npq", form="recommend_form"))
    assert outcome.text == question
    assert outcome.buttons[0] == first and outcome.buttons[-1] == last
    assert outcome.events == []


# (what the user wrote, its intent, the slot asked for, slots already known) -> the slots the
# validation sets; "requested_slot" is the next question (None: ready to recommend). Without
# it, every fact is there and Rasa closes the form.
FREE_TEXT = [
    ("I'm a deputy head at a primary and want to become a head", "recommend_npq", None, {},
     {"role": "deputy_head", "phase": "primary", "ambition": "headship"}),
    ("I want to become a head. I'm a deputy at a primary", "recommend_npq", None, {},
     {"role": "deputy_head", "phase": "primary", "ambition": "headship"}),
    ("primary school, deputy head, aiming for headship", "inform", "role", {},
     {"role": "deputy_head", "phase": "primary", "ambition": "headship"}),
    ("I'm a SENCO", "recommend_npq", None, {}, {"role": "senco", "requested_slot": None}),
    ("I'm the maths lead", "inform", "role", {},
     {"role": "maths_lead", "requested_slot": "phase"}),
    ("secondary", "inform", "phase", {"role": "maths_lead"},
     {"phase": "secondary", "requested_slot": None}),
    ("I'm a deputy head", "inform", "role", {},
     {"role": "deputy_head", "requested_slot": "ambition"}),
    ("not sure yet", "inform", "ambition", {"role": "deputy_head"},
     {"ambition": "not_sure", "requested_slot": None}),
    ("SLT", "inform", "ambition", {"role": "classroom_teacher"},
     {"ambition": "senior_leadership", "requested_slot": None}),
    ("which NPQ should I do?", "recommend_npq", None, {}, {"requested_slot": "role"}),
    ("which NPQ should I do?", "recommend_npq", None, {"role": "senco"},
     {"requested_slot": None}),  # the facts it has are kept: nothing to ask
    ("blah blah", "inform", "role", {}, {"requested_slot": "role"}),
]


@pytest.mark.parametrize("text, intent, asked, known, expected", FREE_TEXT)
async def test_the_form_reads_facts_from_free_text_and_asks_only_whats_missing(
        text: str, intent: str, asked: str | None, known: dict[str, str],
        expected: dict[str, Any]) -> None:
    outcome = await validate(ValidateRecommendForm(), tracker(
        text, intent, form="recommend_form", requested_slot=asked, slots=known))
    assert outcome.slots == expected
    assert outcome.messages == []


@pytest.mark.parametrize("text, value, expected", [
    (inform("deputy_head"), "deputy_head", {"role": "deputy_head", "requested_slot": "ambition"}),
    ("I'm a year 4 teacher", "year 4 teacher", {"role": "classroom_teacher", "phase": "primary"}),
    ("astronaut", "astronaut", {"role": None, "requested_slot": "role"}),
])
async def test_a_role_the_mappings_set_is_validated_to_a_known_role(
        text: str, value: str, expected: dict[str, Any]) -> None:
    """Buttons and entities fill the slot through the domain's mappings; the validation keeps a
    known role, reads an unnormalised one ("year 4 teacher") again and drops anything else."""
    outcome = await validate(ValidateRecommendForm(), tracker(
        text, "inform", [entity("role", value)], form="recommend_form", requested_slot="role",
        mapped={"role": value}))
    assert outcome.slots == expected


async def test_wanting_to_become_a_head_is_an_ambition_not_a_new_role() -> None:
    """The model tags "headteacher" in "I want to become a headteacher" as a role: the role stays
    what the user said before."""
    earlier = [{"event": "slot", "name": "role", "value": "deputy_head"}]
    outcome = await validate(ValidateRecommendForm(), tracker(
        "I want to become a headteacher", "inform", [entity("role", "headteacher")],
        form="recommend_form", requested_slot="ambition", slots={"role": "deputy_head"},
        mapped={"role": "headteacher"}, events=earlier))
    assert outcome.slots == {"role": "deputy_head", "ambition": "headship",
                             "requested_slot": None}


async def test_a_role_and_an_aspiration_in_one_message_keep_the_role_said() -> None:
    """Regression (seed 003's aspiring heads): "I'm a deputy head in Bradford and want to become
    a headteacher" filled the role with the headteacher the model also tagged, and the answer
    said "That suits you as a headteacher interested in becoming a headteacher"."""
    outcome = await validate(ValidateRecommendForm(), tracker(
        "I'm a deputy head in Bradford and want to become a headteacher. Which NPQ should I do?",
        "recommend_npq", [entity("role", "deputy_head"), entity("location", "Bradford"),
                          entity("role", "headteacher")],
        form="recommend_form", mapped={"role": "headteacher"}))
    assert outcome.slots["role"] == "deputy_head" and outcome.slots["ambition"] == "headship"
    answer = await run(ActionRecommend(), tracker("x", "inform", slots={
        "role": outcome.slots["role"], "ambition": outcome.slots["ambition"]}))
    assert answer.text.startswith("I'd suggest NPQH: NPQ for Headship.")
    assert "That suits you as a deputy head interested in becoming a headteacher." in answer.text


async def test_a_headteacher_just_appointed_is_a_new_head_and_gets_early_headship_coaching(
) -> None:
    """'I've just been appointed as a headteacher from September. Is there any support for new
    heads?' was recommended NPQH as a serving head, EHCO only as an alternative."""
    text = ("I've just been appointed as a headteacher from September. Is there any support for "
            "new heads?")
    outcome = await validate(ValidateRecommendForm(), tracker(
        text, "recommend_npq", [entity("role", "headteacher")], form="recommend_form",
        mapped={"role": "headteacher"}))
    assert outcome.slots["role"] == "new_headteacher"
    answer = await run(ActionRecommend(), tracker(text, "recommend_npq", slots={
        "role": outcome.slots["role"]}))
    assert answer.text.startswith("I'd suggest EHCO")


@pytest.mark.parametrize("text, role, code", [
    ("I manage a nursery. Is there an NPQ for someone like me?", "early_years_lead", "NPQEYL"),
    ("I'm responsible for behaviour and attendance across the whole school. Which npq?",
     "behaviour_lead", "NPQLBC"),
])
async def test_a_role_described_not_named_gets_a_recommendation_without_being_asked(
        text: str, role: str, code: str) -> None:
    """Issue 10: these used to get "What's your role at the moment?"."""
    outcome = await validate(ValidateRecommendForm(), tracker(text, "recommend_npq",
                                                              form="recommend_form"))
    assert outcome.slots["role"] == role and outcome.slots["requested_slot"] is None
    answer = await run(ActionRecommend(), tracker(text, "recommend_npq",
                                                  slots={"role": outcome.slots["role"]}))
    assert answer.text.startswith(f"I'd suggest {code}:")


@pytest.mark.parametrize("text, intent, entities", [
    ("is there a hub near Leeds? I'm a deputy head", "find_hub", [entity("location", "Leeds")]),
    ("not sure, when is the NPQH deadline for a primary?", "ask_deadlines",
     [entity("npq", "NPQH")]),
    ("how is a deputy head funded?", "ask_funding", []),
])
async def test_a_question_asked_mid_form_is_not_taken_as_an_answer(
        text: str, intent: str, entities: list[dict[str, Any]]) -> None:
    """Nothing is set, so Rasa rejects the form for this turn, answers the question
    (nlu_data/rules/forms.yml) and the form asks again."""
    outcome = await validate(ValidateRecommendForm(), tracker(
        text, intent, entities, form="recommend_form", requested_slot="ambition",
        slots={"role": "classroom_teacher"}))
    assert outcome.slots == {"requested_slot": "ambition"}


@pytest.mark.parametrize("slots, first_line, code", [
    ({"role": "deputy_head", "phase": "primary", "ambition": "headship"},
     "I'd suggest NPQH: NPQ for Headship.", "NPQH"),
    ({"role": "deputy_head", "ambition": "not_sure"},
     "I'd suggest NPQSL: NPQ for Senior Leadership.", "NPQSL"),
    ({"role": "senco"}, "I'd suggest NPQSENCO: NPQ for Special Educational Needs Co-ordinators.",
     "NPQSENCO"),
    ({"role": "maths_lead", "phase": "primary"},
     "I'd suggest NPQLPM: NPQ for Leading Primary Mathematics.", "NPQLPM"),
    ({"role": "maths_lead", "phase": "secondary"}, "I'd suggest NPQLT: NPQ for Leading Teaching.",
     "NPQLT"),
])
async def test_the_recommendation_names_the_programme_and_clears_only_the_ambition(
        slots: dict[str, str], first_line: str, code: str) -> None:
    outcome = await run(ActionRecommend(), tracker("headship", "inform", slots=slots))
    assert outcome.text.split("\n\n")[0] == first_line
    assert outcome.buttons[:3] == [
        {"title": f"About {code}", "payload": f'/programme_info{{"npq": "{code}"}}'},
        {"title": "Nearest hub", "payload": f'/find_hub{{"npq": "{code}"}}'},
        {"title": "Deadlines", "payload": f'/ask_deadlines{{"npq": "{code}"}}'}]
    assert outcome.events == [SlotSet("ambition", None), SlotSet("npq", code)]


async def test_the_reason_says_who_it_suits() -> None:
    outcome = await run(ActionRecommend(), tracker("x", "inform", slots={
        "role": "deputy_head", "phase": "primary", "ambition": "headship"}))
    assert ("Why: it's the qualification for aspiring and serving headteachers. That suits you "
            "as a deputy head interested in becoming a headteacher.") in outcome.text
    assert "Also worth a look: NPQSL (NPQ for Senior Leadership)" in outcome.text


async def test_with_nothing_known_the_recommendation_asks_for_the_role() -> None:
    outcome = await run(ActionRecommend(), tracker("which npq", "recommend_npq"))
    assert outcome.text.startswith("Happy to help you choose. What's your role at the moment?")
    assert outcome.events == [SlotSet("ambition", None)]  # no programme to remember


async def test_a_place_in_the_message_the_recommendation_answers_is_kept_for_nearest_hub() -> None:
    """'i'm a head of year at a secondary in Bradford, which npq?' then 'nearest hub?' must not
    ask where again (slot `place`, read by the hub and deadline answers)."""
    outcome = await run(ActionRecommend(), tracker(
        "i'm a head of year at a secondary in Bradford, which npq would suit me?",
        "recommend_npq", [entity("location", "Bradford")],
        slots={"role": "head_of_year", "phase": "secondary"}))
    assert outcome.text.startswith("I'd suggest NPQLBC")
    assert SlotSet("place", "Bradford") in outcome.events


async def test_a_recommendation_asked_with_is_it_free_also_says_whether_it_is_funded() -> None:
    """'which would suit me and is it free?' got the recommendation only."""
    outcome = await run(ActionRecommend(), tracker(
        "head of year at a secondary, which npq would suit me and is it free?", "recommend_npq",
        slots={"role": "head_of_year", "phase": "secondary"}))
    assert outcome.text.startswith("I'd suggest NPQLBC")
    funding = outcome.text.split("\n\n")[-1]
    assert funding.startswith("And the funding: NPQLBC in spring 2027, for a state-funded school "
                              "or academy: funded")
    alone = await run(ActionRecommend(), tracker(
        "head of year at a secondary, which npq would suit me?", "recommend_npq",
        slots={"role": "head_of_year", "phase": "secondary"}))
    assert "funding" not in alone.text.lower()
