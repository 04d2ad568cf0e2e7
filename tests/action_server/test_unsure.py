"""A long message about a named programme that asks two things at once splits the model's
confidence, so neither question reaches the threshold: both are answered instead of "Did you
mean...?" (actions/unsure.py). Short messages, messages naming no programme and guesses that are
not information questions still get the buttons."""

from __future__ import annotations

from actions.small_talk import ActionClarify
from tests.action_server.conftest import entity, run, tracker

HARROGATE = ("Hiya, I'm a year 6 teacher and maths lead in a small primary near Harrogate. Is "
             "there a maths NPQ and is it free?")
FALLBACK = ("nlu_fallback", 0.5)


async def test_two_questions_about_a_named_programme_are_both_answered() -> None:
    outcome = await run(ActionClarify(), tracker(
        HARROGATE, "nlu_fallback", [entity("npq", "NPQLPM"), entity("location", "Harrogate")],
        ranking=[FALLBACK, ("ask_funding", 0.34), ("recommend_npq", 0.30), ("find_hub", 0.2)]))
    assert outcome.text.startswith("NPQLPM in spring 2027, for a state-funded school or academy: "
                                   "funded")
    assert "The nearest hubs offering NPQLPM to Harrogate:" in outcome.text
    assert "Did you mean" not in outcome.text


async def test_unsure_guesses_without_a_programme_or_in_short_messages_are_offered() -> None:
    unnamed = await run(ActionClarify(), tracker(
        "Hiya, I'm a year 6 teacher in a small primary near Harrogate, is it free and when?",
        "nlu_fallback", ranking=[FALLBACK, ("ask_funding", 0.4), ("ask_deadlines", 0.3)]))
    short = await run(ActionClarify(), tracker(
        "npqlpm free?", "nlu_fallback", [entity("npq", "NPQLPM")],
        ranking=[FALLBACK, ("ask_funding", 0.4), ("ask_deadlines", 0.3)]))
    for outcome in (unnamed, short):
        assert outcome.text.startswith("Sorry, I'm not sure I understood. Did you mean")


async def test_a_form_or_a_request_is_never_started_on_a_guess() -> None:
    outcome = await run(ActionClarify(), tracker(
        "Dear Sir/Madam, I would like to be reminded about the NPQ in Senior Leadership "
        "please, and to register my interest", "nlu_fallback", [entity("npq", "NPQSL")],
        ranking=[FALLBACK, ("subscribe_reminders", 0.45), ("register_interest", 0.4)]))
    assert outcome.text.startswith("Sorry, I'm not sure I understood. Did you mean")
