"""Funding and eligibility answers from the funding rules stored per intake (funding_rules.yaml).

The rules and their wording live in npq.funding_rules; this module reads the intake's rules and
answers: the whole picture, one programme's rules, or the verdict for where someone works. A
question about the pupil premium check, the small-school grant or failing and withdrawing gets
its own answer. An answer resting on a provisional rule says "expected, to be confirmed".
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.answers import Answer, Button, intake_label
from npq.applying import ENDORSEMENT, endorsement_answer
from npq.course import assessment_answer, prerequisite_answer, sessions_answer
from npq.db.models import FUNDING_CONDITIONS, Cohort, FundingRule, Programme
from npq.funding_rules import (
    CONDITIONS,
    NOT_FUNDED_GROUP,
    PHASE_SETTING,
    SETTING_LABELS,
    Outcome,
    expected,
    group_title,
    outcome,
    parse_setting,
    summary,
    verdict,
)
from npq.network import Network, load_network
from npq.profile import parse_phase, parse_role
from npq.programmes import current_programmes, find_programme
from npq.topics import plain_words, topic_of
from npq.vocabulary import ROLES

__all__ = ["SETTING_LABELS", "Outcome", "eligibility_answer", "funding_answer", "outcome",
           "parse_setting"]

INTAKE = re.compile(r"\d{4}[ab]")
SMALL_PRINT = ("Funding is for people working in England, once per NPQ. Places are capped, so "
               "being eligible doesn't guarantee one.")
DEFAULT_FEE = "Without funding, the school pays the course fee."
SETTING_BUTTONS = {"school": "State school", "sixteen_to_nineteen": "Sixth form or FE",
                   "early_years": "Nursery/childminder", "itt_provider": "ITT provider",
                   "independent": "Independent school"}
TOPICS = frozenset({"pupil_premium", "small_school_grant", "assessment"})
PREREQUISITE = frozenset({"prerequisite"})
SESSIONS = frozenset({"sessions"})
Intakes = list[tuple[str, list[FundingRule]]]


def funding_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                   setting: str | None = None, phase: str | None = None, role: str | None = None,
                   intake: str | None = None, question: str | None = None) -> Answer:
    """Is it funded? The whole picture for the next intake, one programme's rules, or the verdict
    for one setting (from `setting`, a key or free text, or implied by `phase`)."""
    network, role = load_network(session), _role(role)
    intake = intake if intake and INTAKE.fullmatch(intake) else None
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    topic = topic_of(question, TOPICS)
    if topic == "small_school_grant":
        return _grant(network)
    if topic == "assessment":
        return assessment_answer(session, programme, funding_first=True)
    if programme is None or programme.is_legacy:
        if topic == "pupil_premium":
            return _pupil_premium(session, today, network)
        mine = _named_no_programme(session, today, programme_code, setting, phase, role,
                                   question)
        if mine is not None:  # "is it free for a childminder?"
            return mine
        unknown = programme_code[:40] if programme_code and programme is None else None
        return _overview(session, today, intake, network, programme, unknown)
    intakes = _intakes(session, programme.code, today, intake)
    if not intakes:
        return _not_published(programme.code, network)
    where = _setting(setting, phase, question) or ("school" if topic == "pupil_premium"
                                                   else None)
    if where is None and _depends_on_setting(intakes, role):
        lines = [f"{programme.code} in {label}: {summary(rules)}{expected(rules)}."
                 for label, rules in intakes]
        return Answer("\n".join([*lines, *_pp50_check(intakes, network),
                                 "Where do you work? I'll tell you what applies to you."]),
                      _setting_buttons(programme.code, "ask_funding"))
    lines = []
    in_top_half = pp50_stated(question)
    for label, rules in intakes:
        result = outcome(rules, where or "school", role)
        who = f", for {SETTING_LABELS[where]}" if where else ""
        said = _pp50_verdict(result, in_top_half, rules, network)
        lines.append(f"{programme.code} in {label}{who}: "
                     f"{said or verdict(result, where, _fee(network), _pp50_link(network), rules)}")
    if any(outcome(rules, where or "school", role).status != "not_funded" for _, rules in intakes):
        lines.append(SMALL_PRINT)
    return Answer("\n\n".join(lines), (
        Button("Am I eligible?", "ask_eligibility", {"npq": programme.code}),
        Button("Deadlines", "ask_deadlines", {"npq": programme.code}),
        Button("How do I apply?", "how_to_apply", {"npq": programme.code})))


def eligibility_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                       setting: str | None = None, phase: str | None = None,
                       role: str | None = None, intake: str | None = None,
                       question: str | None = None) -> Answer:
    """Can I get it funded? What the person needs, then the verdict for their setting; asks which
    programme, or where they work, when that decides it."""
    network, role = load_network(session), _role(role)
    intake = intake if intake and INTAKE.fullmatch(intake) else None
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    topic = topic_of(question, TOPICS | ENDORSEMENT | PREREQUISITE | SESSIONS)
    if topic == "sessions":  # "can I do it part time?": the time it takes, and when
        return sessions_answer(session, programme, today)
    if topic == "endorsement":  # "do I need my head's permission?"
        return endorsement_answer(programme.code if programme else None)
    if topic == "prerequisite" and programme is not None and not programme.is_legacy:
        return prerequisite_answer(programme)  # "what qualifications do i need to do npqsl"
    if topic == "small_school_grant":
        return _grant(network)
    if topic == "pupil_premium" and (programme is None or programme.is_legacy):
        return _pupil_premium(session, today, network)
    if programme is None or programme.is_legacy:
        mine = _named_no_programme(session, today, programme_code, setting, phase, role,
                                   question)
        if mine is not None:  # "I'm a childminder, can I do an NPQ?"
            return mine
        programmes = programme.successors if programme else current_programmes(session)
        return Answer("Which NPQ are you asking about?", tuple(
            Button(p.code, "ask_eligibility", {"npq": p.code}) for p in programmes))
    intakes = _intakes(session, programme.code, today, intake)
    if not intakes:
        return _not_published(programme.code, network)
    where = _setting(setting, phase, question)
    if where is None and _depends_on_setting(intakes[:1], role):
        return Answer(f"Funding for {programme.code} depends on where you work. Where are you "
                      "based?", _setting_buttons(programme.code, "ask_eligibility"))
    label, rules = intakes[0]
    if any(r.funded for r in rules):
        lines = [f"To be funded for {programme.code} in {label}{expected(rules)}, you need to:",
                 "• work in England",
                 f"• work where it's funded: {summary(rules).removeprefix('funded ')}",
                 f"• not have had DfE funding for {programme.code} before"]
    else:
        lines = [f"{programme.code} has no scholarship funding in {label}{expected(rules)}."]
    if programme.prerequisite:
        lines.append(f"• meet the prerequisite: {programme.prerequisite}")
    result = outcome(rules, where or "school", role)
    who = SETTING_LABELS[where] if where else "anyone"
    lines += ["", f"For {who}: {verdict(result, where, _fee(network), _pp50_link(network))}"]
    return Answer("\n".join(lines), (
        Button("How do I apply?", "how_to_apply", {"npq": programme.code}),
        Button("Deadlines", "ask_deadlines", {"npq": programme.code}),
        Button("Nearest hub", "find_hub", {"npq": programme.code})))


def _overview(session: Session, today: dt.date, intake: str | None, network: Network,
              legacy: Programme | None, unknown: str | None) -> Answer:
    first = _next_intake(session, today) if intake is None else intake
    rules = list(session.scalars(select(FundingRule).where(FundingRule.intake == first)))
    if not rules:
        return _not_published(None, network)
    groups: dict[tuple[int, str], list[str]] = {}
    for code in sorted({r.programme_code for r in rules}):
        mine = [r for r in rules if r.programme_code == code and r.funded]
        for condition in dict.fromkeys(r.condition for r in mine):
            key = (FUNDING_CONDITIONS.index(condition), group_title(mine, condition))
            groups.setdefault(key, []).append(code)
        if not mine:
            groups.setdefault((len(FUNDING_CONDITIONS), NOT_FUNDED_GROUP), []).append(code)
    lead = f"Scholarship funding for {intake_label(first or '')}{expected(rules)}:"
    if legacy is not None:
        lead = f"{legacy.code} is no longer offered. {lead}"
    elif unknown:
        lead = f"I don't know an NPQ called \"{unknown}\". {lead}"
    lines = [lead, *(f"• {title}: {', '.join(codes)}"
                     for (_, title), codes in sorted(groups.items()))]
    link = _pp50_link(network)
    if link and any(r.condition == "pp50" for r in rules):
        lines.append(f"\nCheck whether your school is in the top 50%: {link}")
    return Answer("\n".join([*lines, "", SMALL_PRINT]), (
        Button("Am I eligible?", "ask_eligibility"),
        Button("Which NPQ suits me?", "recommend_npq"),
        Button("Deadlines", "ask_deadlines")))


def _named_no_programme(session: Session, today: dt.date, programme_code: str | None,
                        setting: str | None, phase: str | None, role: str | None,
                        question: str | None) -> Answer | None:
    """What is funded where the person works, when they said where but named no programme."""
    where = _setting(setting, phase, question)
    return _for_setting(session, today, where, role) if where and programme_code is None \
        else None


def _for_setting(session: Session, today: dt.date, where: str, role: str | None) -> Answer | None:
    """Which NPQs are funded for where the person works, when they named no programme ("I'm a
    childminder, can I do an NPQ?"): funded, funded on a condition, not funded."""
    first = _next_intake(session, today)
    rules = list(session.scalars(select(FundingRule).where(FundingRule.intake == first)))
    if not rules or where == "outside_england":
        return None
    verdicts: dict[str, list[str]] = {"funded": [], "conditional": [], "not_funded": []}
    on_condition: dict[tuple[str, ...], list[str]] = {}
    for code in sorted({r.programme_code for r in rules}):
        result = outcome([r for r in rules if r.programme_code == code], where, role)
        verdicts[result.status].append(code)
        if result.status == "conditional":
            on_condition.setdefault(tuple(sorted(result.conditions)), []).append(code)
    lines = [f"For {SETTING_LABELS[where]}, in {intake_label(first or '')}{expected(rules)}:"]
    if verdicts["funded"]:
        lines.append(f"• Funded: {', '.join(verdicts['funded'])}")
    for conditions, codes in sorted(on_condition.items(), key=lambda item: -len(item[1])):
        why = " or ".join(CONDITIONS.get(c, c) for c in conditions)
        lines.append(f"• Funded only if {why}: {', '.join(codes)}")
    if verdicts["not_funded"]:
        lines.append(f"• Not funded (your setting pays the fee): "
                     f"{', '.join(verdicts['not_funded'])}")
    codes = (verdicts["funded"] or verdicts["conditional"])[:3]
    return Answer("\n".join([*lines, "", SMALL_PRINT]), (
        *(Button(f"About {code}", "programme_info", {"npq": code}) for code in codes),
        Button("Which NPQ suits me?", "recommend_npq")))


def _pupil_premium(session: Session, today: dt.date, network: Network) -> Answer:
    """Which NPQs depend on the top-50% pupil premium check, and where to look a school up."""
    first = _next_intake(session, today)
    rules = list(session.scalars(select(FundingRule).where(
        FundingRule.intake == first, FundingRule.condition == "pp50", FundingRule.funded)))
    if not rules:
        return _overview(session, today, None, network, None, None)
    codes = ", ".join(sorted({r.programme_code for r in rules}))
    lines = [f"In {intake_label(first or '')}, {codes} are funded only in state-funded schools in "
             f"the top 50% by pupil premium{expected(rules)}."]
    link = _pp50_link(network)
    lines.append(f"Check your school on the DfE's list: {link}" if link else
                 "Your hub can check your school for you.")
    lines.append(f"If your school isn't on it, they aren't funded. {_fee(network)}")
    return Answer("\n\n".join(lines), (
        Button("Which NPQs are funded?", "ask_funding"),
        Button("Am I eligible?", "ask_eligibility"),
        Button("Talk to a person", "talk_to_human")))


def _grant(network: Network) -> Answer:
    """The small-school grant (targeted support funding), in the terms staff keep."""
    terms = network.get("targeted_support_funding") or (
        "I don't have the current terms of the small-school grant (targeted support funding).")
    guidance = network.get("funding_guidance")
    more = f"\n\nThe DfE's funding guidance says what applies this round: {guidance}" \
        if guidance else ""
    return Answer(terms + more, (Button("Which NPQs are funded?", "ask_funding"),
                                 Button("Talk to a person", "talk_to_human")))


def _intakes(session: Session, code: str, today: dt.date, intake: str | None) -> Intakes:
    """The next intake (and the one after, when its rules differ) with this programme's rules."""
    wanted = [intake] if intake else list(dict.fromkeys(session.scalars(
        select(Cohort.intake)
        .where(Cohort.programme_code == code, Cohort.applications_close >= today)
        .order_by(Cohort.applications_close))))
    found = []
    for name in sorted(wanted)[:2]:
        rules = list(session.scalars(select(FundingRule).where(
            FundingRule.intake == name, FundingRule.programme_code == code)))
        if rules or intake:
            found.append((intake_label(name), rules))
    if len(found) == 2 and summary(found[0][1]) == summary(found[1][1]):
        found = found[:1]
    return found


def _next_intake(session: Session, today: dt.date) -> str | None:
    return session.scalar(select(Cohort.intake).where(Cohort.applications_close >= today)
                          .order_by(Cohort.applications_close).limit(1))


def _depends_on_setting(intakes: Intakes, role: str | None) -> bool:
    """Whether people in different settings get different answers (so we must ask)."""
    def status(rules: list[FundingRule], setting: str) -> tuple[str, tuple[str, ...]]:
        result = outcome(rules, setting, role)
        return result.status, result.conditions
    return any(len({status(rules, s) for s in SETTING_BUTTONS}) > 1 for _, rules in intakes)


def _pp50_check(intakes: Intakes, network: Network) -> list[str]:
    link = _pp50_link(network)
    if link and any(r.condition == "pp50" and r.funded for _, rules in intakes for r in rules):
        return [f"Check whether your school is in the top 50%: {link}"]
    return []


def _pp50_link(network: Network) -> str | None:
    return network.get("eligible_settings")


def _fee(network: Network) -> str:
    return network.get("unfunded_fee_note") or DEFAULT_FEE


def _setting(setting: str | None, phase: str | None, question: str | None = None) -> str | None:
    """Where the person works: what this message says ("I work in a hospital school, ..."),
    else the setting they gave, else what their phase implies."""
    chosen = parse_setting(question) or (
        setting if setting in SETTING_LABELS else parse_setting(setting))
    canonical = phase if phase in PHASE_SETTING else parse_phase(phase)
    return chosen or PHASE_SETTING.get(canonical or "")


# "...and is it free?" inside another question (which NPQ, what it involves, the deadline).
ALSO_ASKS_FUNDING = re.compile(r"\b(is it (free|funded|paid for)|free|funded|funding|costs?|"
                               r"how much|fees?|pay for it|who pays|price|scholarship)\b")


def also_asks_funding(question: str | None) -> bool:
    """Whether a message about something else also asks if it is free."""
    return ALSO_ASKS_FUNDING.search(plain_words(question)) is not None


def funding_aside(session: Session, *, today: dt.date, programme_code: str | None,
                  question: str | None, setting: str | None = None, phase: str | None = None,
                  role: str | None = None) -> str | None:
    """One line on a programme's funding when `question`, asked about something else, also asks
    whether it is free ("which npq would suit me and is it free?"); None when it does not."""
    if not programme_code or not also_asks_funding(question):
        return None
    answer = funding_answer(session, today=today, programme_code=programme_code,
                            setting=setting, phase=phase, role=role)
    first = answer.text.split("\n")[0]
    more = " Tap Is it funded? to check yours." if "Where do you work?" in answer.text else ""
    return f"And the funding: {first}{more}"


# "our school is in the top 50% for pupil premium, does that mean NPQLT is free?"
IN_TOP_HALF = re.compile(r"\b(in|within|among|one of) (the )?(top (50|half|fifty)|pp ?50)\b")
NOT_IN_TOP_HALF = re.compile(r"\b(not|isn t|isnt|aren t|arent|outside) (in |within )?(the )?"
                             r"(top (50|half|fifty)|pp ?50)\b")


def pp50_stated(question: str | None) -> bool | None:
    """Whether the message says the school is (True) or is not (False) in the top 50% by pupil
    premium; None when it says neither."""
    words = plain_words(question)
    if NOT_IN_TOP_HALF.search(words):
        return False
    return True if IN_TOP_HALF.search(words) else None


def _pp50_verdict(result: Outcome, in_top_half: bool | None, rules: list[FundingRule],
                  network: Network) -> str | None:
    """The verdict when the only condition is the top-50% check and the user said how their
    school stands; None otherwise (the usual verdict)."""
    if result.status != "conditional" or result.conditions != ("pp50",) or in_top_half is None:
        return None
    link = _pp50_link(network)
    check = f" Check your school is on the DfE's list: {link}" if link else ""
    if in_top_half:
        return (f"funded{expected(rules)}, as your school is in the top 50% of schools by pupil "
                f"premium. The DfE pays the course fee.{check}")
    return (f"not funded{expected(rules)}, as it is only funded in schools in the top 50% by "
            f"pupil premium. {_fee(network)}")


def outside_england_answer(place: str, country: str) -> Answer:
    """Funding or eligibility asked from a place outside England ("im in cardiff, can i do
    one"): say so, rather than ask which programme or where they work."""
    return Answer(
        f"{place} is in {country}. NPQs, and the DfE funding for them, are for teachers and "
        f"leaders working in England. {country} has its own professional learning for school "
        "leaders: your local authority or regional consortium can point you to it. If you work "
        "in an English school, tell me its town and I'll check for you.",
        (Button("Which NPQs are there?", "programme_info"), Button("Talk to a person",
                                                                    "talk_to_human")))


def _role(role: str | None) -> str | None:
    return role if role in ROLES else parse_role(role)


def _setting_buttons(code: str, intent: str) -> tuple[Button, ...]:
    return tuple(Button(title, intent, {"setting": key, "npq": code})
                 for key, title in SETTING_BUTTONS.items())


def _not_published(code: str | None, network: Network) -> Answer:
    what = f" for {code}" if code else ""
    guidance = network.get("funding_guidance")
    where = f" The DfE publishes them here: {guidance}" if guidance else ""
    return Answer(f"I don't have the funding rules{what} for the next intake yet.{where}",
                  (Button("Remind me", "subscribe_reminders", {"npq": code} if code else {}),
                   Button("Talk to a person", "talk_to_human")))
