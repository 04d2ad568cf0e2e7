"""How to apply: the two steps and the links, all from the seeded catalogue."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from npq.answers import Answer, long_date
from npq.applying import how_to_apply_answer, steps_text, what_to_have_ready_answer
from npq.course import programme_info_answer
from npq.db.models import Cohort, NetworkSetting, Programme
from npq.funding import eligibility_answer
from npq.intents import INTENTS
from npq.network import Network, load_network, office_contact

TODAY = dt.date(2026, 11, 22)
REGISTER = "https://register-national-professional-qualifications.education.gov.uk/"
ENTITIES = {"npq", "role", "phase", "location", "postcode", "setting", "organisation_type",
            "ambition"}


def assert_phone_sized_with_buttons(answer: Answer) -> None:
    assert answer.text and len(answer.text) < 900, len(answer.text)
    assert answer.buttons
    for button in answer.buttons:
        assert button.intent in INTENTS and set(button.entities) <= ENTITIES


def setting(session: Session, key: str) -> str:
    row = session.get(NetworkSetting, key)
    assert row is not None, key
    return row.value


def test_the_two_steps_with_the_registration_service_and_checking_time(session: Session) -> None:
    answer = how_to_apply_answer(session, today=TODAY)
    lines = answer.text.splitlines()
    assert lines[0] == "Applying for an NPQ takes two steps:"
    assert lines[1] == ("1. Register with the DfE using your teacher reference number (TRN) and "
                        "your school's URN. When it asks for your provider, choose Best Practice "
                        "Network (to be confirmed). The DfE's checks take up to 3 working days.")
    assert lines[2] == f"Register here: {REGISTER}"
    assert lines[3].startswith("2. Your provider or hub then sends you its own application.")
    assert "Some providers need your headteacher to endorse it." in lines[3]
    assert f"Lost your TRN? {setting(session, 'find_trn')}" in lines
    assert f"Find your school's URN: {setting(session, 'find_urn')}" in lines
    assert f"More on GOV.UK: {setting(session, 'npq_guidance')}" in lines
    assert_phone_sized_with_buttons(answer)


def test_a_programme_adds_its_prerequisite_and_next_deadline(session: Session) -> None:
    earliest = session.scalar(select(Cohort.applications_close).where(
        Cohort.programme_code == "NPQLPM", Cohort.applications_close >= TODAY)
        .order_by(Cohort.applications_close).limit(1))
    npqlpm = session.get(Programme, "NPQLPM")
    assert earliest is not None and npqlpm is not None and npqlpm.prerequisite
    answer = how_to_apply_answer(session, today=TODAY, programme_code="NPQLPM")
    assert answer.text.startswith(f"Applying for NPQLPM ({npqlpm.name}) takes two steps:")
    assert f"Before you apply: {npqlpm.prerequisite}" in answer.text
    assert "Teaching for Mastery" in answer.text
    assert f"The first NPQLPM deadline is {long_date(earliest)}; each hub sets its own." \
        in answer.text
    assert [(b.intent, b.entities) for b in answer.buttons][:3] == [
        ("ask_deadlines", {"npq": "NPQLPM"}), ("ask_funding", {"npq": "NPQLPM"}),
        ("find_hub", {"npq": "NPQLPM"})]
    assert_phone_sized_with_buttons(answer)


@pytest.mark.parametrize("question", [
    "which lead provider do I select on the form", "the DfE form is asking for my provider, what "
    "do I put", "who is the lead provider"])
def test_the_provider_question_names_the_network_and_the_provider_to_choose(
        session: Session, question: str) -> None:
    answer = how_to_apply_answer(session, today=TODAY, question=question)
    assert answer.text == (
        "We're the Outstanding Leaders Partnership, a partnership of teaching school alliances, "
        "multi-academy trusts and schools whose regional hubs deliver the NPQs, with a specialist "
        "training provider running the online element and quality assurance. We deliver the "
        "NPQs with Best Practice Network, our lead provider.\n\n"
        "On the DfE registration form, choose Best Practice Network (to be confirmed) as your "
        "provider.")
    assert [b.intent for b in answer.buttons] == ["how_to_apply", "find_hub", "talk_to_human"]


def test_the_provider_is_the_setting_staff_keep(session: Session) -> None:
    row = session.get(NetworkSetting, "lead_provider")
    assert row is not None
    row.value, row.checked = "Example Lead Provider", True
    session.flush()
    answer = how_to_apply_answer(session, today=TODAY, question="which provider do I choose?")
    assert answer.text.endswith("On the DfE registration form, choose Example Lead Provider as "
                                "your provider.")
    assert "When it asks for your provider, choose Example Lead Provider." in \
        how_to_apply_answer(session, today=TODAY).text
    session.execute(delete(NetworkSetting).where(NetworkSetting.key.in_(
        ["lead_provider", "network_name"])))
    session.flush()
    assert how_to_apply_answer(session, today=TODAY, question="which provider?").text.endswith(
        "Your hub will tell you which provider to choose on the DfE registration form.")


def test_a_programme_with_no_open_intake_offers_a_reminder_in_words(session: Session) -> None:
    answer = how_to_apply_answer(session, today=dt.date(2030, 1, 1), programme_code="NPQH")
    assert "No NPQH intake is open yet: I can remind you when one is." in answer.text


def test_links_come_from_the_catalogue(session: Session) -> None:
    row = session.get(NetworkSetting, "registration_service")
    assert row is not None
    row.value = "https://register.example.org/npq"
    session.execute(delete(NetworkSetting).where(NetworkSetting.key.in_(["dfe_check_time",
                                                                         "npq_guidance"])))
    session.flush()
    text = how_to_apply_answer(session, today=TODAY).text
    assert "Register here: https://register.example.org/npq" in text
    assert REGISTER not in text
    assert "checks take" not in text and "GOV.UK" not in text  # missing values leave no gaps


def test_an_empty_network_table_still_explains_the_steps(session: Session) -> None:
    session.execute(delete(NetworkSetting))
    session.flush()
    answer = how_to_apply_answer(session, today=TODAY, programme_code="NPQH")
    assert "1. Register with the DfE" in answer.text and "http" not in answer.text
    assert_phone_sized_with_buttons(answer)
    assert "http" not in what_to_have_ready_answer(session).text


def test_what_to_have_ready(session: Session) -> None:
    answer = what_to_have_ready_answer(session)
    lines = answer.text.splitlines()
    assert lines[0] == "To register for an NPQ, have ready:"
    assert f"• your TRN (lost it? {setting(session, 'find_trn')})" in lines
    assert f"• your school's URN (look it up: {setting(session, 'find_urn')})" in lines
    assert f"Then register at {REGISTER}" in lines
    assert lines[-1].startswith(f"Stuck? Our office can help: {setting(session, 'office_email')}")
    assert_phone_sized_with_buttons(answer)


def test_legacy_npqml_points_to_its_successors(session: Session) -> None:
    answer = how_to_apply_answer(session, today=TODAY, programme_code="NPQML")
    assert answer.text.startswith("NPQML is no longer offered, so you can't apply for it.")
    assert {b.entities["npq"] for b in answer.buttons} == {"NPQLT", "NPQLTD", "NPQLBC"}


@pytest.mark.parametrize("programme", [None, "", "banana", "'; DROP TABLE programmes;--", "🙂",
                                       "q" * 4000])
def test_unknown_programmes_get_the_general_steps(session: Session,
                                                  programme: str | None) -> None:
    answer = how_to_apply_answer(session, today=TODAY, programme_code=programme)
    assert answer.text.startswith("Applying for an NPQ takes two steps:")
    assert_phone_sized_with_buttons(answer)


def test_every_programme_fits_a_phone(session: Session) -> None:
    for code in session.scalars(select(Programme.code)):
        assert_phone_sized_with_buttons(how_to_apply_answer(session, today=TODAY,
                                                            programme_code=code))


@pytest.mark.parametrize("values, expected", [
    ({}, ""),
    ({"office_email": "a@b.org"}, "a@b.org"),
    ({"office_email": "a@b.org", "office_phone": "0113 496 0000"}, "a@b.org or 0113 496 0000"),
    ({"office_email": "a@b.org", "office_hours": "weekdays"}, "a@b.org (weekdays)"),
])
def test_office_contact(values: dict[str, str], expected: str) -> None:
    assert office_contact(Network(values)) == expected


def test_steps_text_without_settings_has_no_placeholders() -> None:
    text = steps_text(Network({}))
    assert "None" not in text and "Register here" not in text
    assert text.startswith("1. Register with the DfE")


def test_load_network_reads_every_row_in_order(session: Session) -> None:
    network = load_network(session)
    assert list(network.values)[0] == "npq_guidance"
    assert network.get("missing_key") is None


def test_the_core_journeys_import_no_framework() -> None:
    probe = ("import sys, npq.recommend, npq.profile, npq.deadlines, npq.funding, npq.applying,"
             " npq.partners, npq.people, npq.network;"
             "bad = [m for m in sys.modules"
             " if m.split('.')[0] in ('rasa', 'rasa_sdk', 'telegram')];"
             "assert not bad, bad")
    subprocess.run([sys.executable, "-c", probe], check=True)


PERMISSION = "Yes, talk to your headteacher (or line manager) before you apply."


@pytest.mark.parametrize("question", [
    "do i need my heads permission", "does my head have to agree to it?",
    "do I need my headteacher's approval", "will my school need to endorse my application",
    "can i apply without my head knowing",
])
def test_asking_whether_the_head_must_agree_gets_that_answer_in_every_journey(
        session: Session, question: str) -> None:
    """'do i need my heads permission' got the funding conditions (eligibility) or the whole
    programme description, neither of which says."""
    answers = [how_to_apply_answer(session, today=TODAY, programme_code="NPQH", question=question),
               eligibility_answer(session, today=TODAY, programme_code="NPQH", question=question),
               programme_info_answer(session, today=TODAY, named="NPQH", question=question)[0]]
    for answer in answers:
        assert answer.text.startswith(PERMISSION)
        assert "some providers ask your headteacher to endorse your application" in answer.text
        assert_phone_sized_with_buttons(answer)
        assert answer.buttons[0].entities == {"npq": "NPQH"}


@pytest.mark.parametrize("question", ["is it approved by the DfE", "is npqh for heads",
                                      "my school supports it, how do i apply"])
def test_other_questions_about_heads_and_approval_are_not_taken_for_permission(
        session: Session, question: str) -> None:
    answer = how_to_apply_answer(session, today=TODAY, programme_code="NPQH", question=question)
    assert not answer.text.startswith(PERMISSION)


@pytest.mark.parametrize("question", ["whats a TRN", "what does trn stand for", "i dont have a trn",
                                      "where do i find my teacher reference number"])
def test_a_question_about_the_trn_gets_what_it_is_and_where_to_find_it(
        session: Session, question: str) -> None:
    answer = how_to_apply_answer(session, today=TODAY, question=question)
    assert answer.text.startswith("Your TRN (teacher reference number) is the 7-digit number")
    assert "Lost it? Find it here: https://find-a-lost-trn.education.gov.uk/start" in answer.text
    assert_phone_sized_with_buttons(answer)


def test_a_question_about_the_urn_gets_what_it_is_and_where_to_look_it_up(
        session: Session) -> None:
    answer = how_to_apply_answer(session, today=TODAY, question="where do I find our school's urn?")
    assert answer.text.startswith("Your school's URN (unique reference number) is the 6-digit")
    assert "https://get-information-schools.service.gov.uk/" in answer.text


@pytest.mark.parametrize("question", ["I've got my TRN and URN ready, where do I go now",
                                      "do I need a TRN to apply", "how do i apply"])
def test_having_the_numbers_ready_still_gets_the_steps(session: Session, question: str) -> None:
    answer = how_to_apply_answer(session, today=TODAY, question=question)
    assert answer.text.startswith("Applying for an NPQ takes two steps:")


@pytest.mark.parametrize("question", ["my application was rejected, why?",
                                      "how do I log in to the learning platform"])
def test_what_only_the_hub_can_answer_is_not_the_steps_to_apply(session: Session,
                                                                 question: str) -> None:
    """Both got the two steps to apply again."""
    answer = how_to_apply_answer(session, today=TODAY, question=question)
    assert answer.text.startswith("That depends on your hub and the provider running your course")
    assert "Talk to a person" in [b.title for b in answer.buttons]
