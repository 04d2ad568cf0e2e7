"""Funding and eligibility from the funding rules stored per intake (funding_rules.yaml).

`outcome` decides, purely, what the rules say for one setting; the answers add the intake, the
programme's prerequisite and the small print every funding answer carries (England only, once
per NPQ, independent schools not covered, places capped, where the official guidance is).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from npq.answers import Answer, Button, intake_label
from npq.db.models import FUNDING_CONDITIONS, Cohort, FundingRule, Programme
from npq.network import Network, load_network
from npq.profile import parse_phase, parse_role
from npq.programmes import current_programmes, find_programme
from npq.vocabulary import ROLES

# What a user can tell us about where they work, and the funding rules' setting for each.
SETTING_LABELS: dict[str, str] = {
    "school": "a state-funded school or academy",
    "sixteen_to_nineteen": "a 16 to 19 setting (sixth form or FE college)",
    "early_years": "an early years setting (nursery or childminder)",
    "itt_provider": "an initial teacher training (ITT) provider",
    "other": "another publicly funded setting (local authority, virtual or hospital school)",
    "independent": "an independent (private) school",
    "outside_england": "a school outside England",
}
RULE_SETTING: dict[str, str | None] = {
    "school": "school", "sixteen_to_nineteen": "sixteen_to_nineteen",
    "early_years": "early_years", "itt_provider": "other", "other": "other",
    "independent": None, "outside_england": None,  # no rule covers them: never funded
}
# What a phase implies when no setting is given. A school phase is taken as a state-funded school;
# the small print says independent schools are not covered.
PHASE_SETTING = {"early_years": "early_years", "sixteen_to_nineteen": "sixteen_to_nineteen",
                 "primary": "school", "secondary": "school", "special": "school",
                 "all_through": "school"}
SETTING_PATTERNS: tuple[tuple[str, str], ...] = (
    ("outside_england", r"\b(wales|welsh|scotland|scottish|northern ireland|abroad|overseas|"
                        r"international school)\b"),
    ("independent", r"\b(independent|private|fee paying|public school)\b"),
    ("itt_provider", r"\b(itt|scitt|initial teacher training|teacher training provider|"
                     r"university|school direct)\b"),
    ("early_years", r"\b(nursery|nurseries|childminder|childminding|pre ?school|early years|eyfs|"
                    r"day ?care|childcare)\b"),
    ("sixteen_to_nineteen", r"\b(sixth form college|6th form college|fe|further education|college|"
                            r"16 19|16 to 19|post 16)\b"),
    ("other", r"\b(local authority|council|virtual school|hospital school|young offender)\b"),
    ("school", r"\b(state|maintained|academy|academies|free school|mat|trust|primary|secondary|"
               r"special|pru|alternative provision|comprehensive|grammar|school)\b"),
)
CONDITIONS = {
    "pp50": "if your school is in the top 50% of schools by pupil premium",
    "itt_lead_mentor": "if you're an ITT lead mentor",
    "new_headteacher": "if you're in your first five years of headship",
}
INTAKE = re.compile(r"\d{4}[ab]")
GROUP_TITLES = {"all_eligible": "For everyone eligible in {settings}",
                "pp50": "Only in the top 50% of schools by pupil premium",
                "itt_lead_mentor": "For ITT lead mentors",
                "new_headteacher": "For headteachers in their first five years"}
RULE_SETTING_WORDS = {"school": "state-funded schools", "sixteen_to_nineteen": "16 to 19 settings",
                      "early_years": "early years settings",
                      "other": "other settings (such as ITT providers)"}
SETTING_BUTTONS = {"school": "State school or academy",
                   "sixteen_to_nineteen": "Sixth form or FE college",
                   "early_years": "Nursery or childminder", "itt_provider": "ITT provider",
                   "independent": "Independent school"}


class RuleLike(Protocol):
    setting: str
    condition: str
    funded: bool
    note: str


@dataclass(frozen=True)
class Outcome:
    status: str  # funded | conditional | not_funded
    conditions: tuple[str, ...] = ()  # keys of CONDITIONS, when conditional
    note: str = ""


def parse_setting(text: str | None) -> str | None:
    """Where someone works, from a free-text reply: a key of SETTING_LABELS, or None."""
    if not isinstance(text, str) or not text.strip():
        return None
    if text.strip().lower() in SETTING_LABELS:
        return text.strip().lower()
    words = " ".join(re.sub(r"[^a-z0-9]+", " ", text[:300].lower()).split())
    return next((key for key, pattern in SETTING_PATTERNS if re.search(pattern, words)), None)


def outcome(rules: Iterable[RuleLike], setting: str | None, role: str | None = None) -> Outcome:
    """What one programme's rules for one intake give someone in `setting` (a key of
    SETTING_LABELS). No rule for the setting means not funded."""
    rule_setting = RULE_SETTING.get(setting or "")
    mine = [r for r in rules if rule_setting is not None and r.setting == rule_setting]
    funded = [r for r in mine if r.funded]
    for condition in ("all_eligible", "new_headteacher"):
        deciding = next((r for r in funded if r.condition == condition), None)
        if deciding is not None and (condition == "all_eligible" or role == "new_headteacher"):
            return Outcome("funded", (), deciding.note)
    conditions = tuple(dict.fromkeys(r.condition for r in funded if r.condition in CONDITIONS))
    if conditions:
        return Outcome("conditional", conditions, funded[0].note)
    return Outcome("not_funded", (), next((r.note for r in mine if not r.funded), ""))


def verdict_line(result: Outcome, network: Network, setting: str | None = None) -> str:
    """'funded. The DfE pays...', 'funded if ... Otherwise ...' or 'not funded. ...'."""
    fee = network.get("unfunded_fee_note") or "The school pays the course fee."
    if setting == "outside_england":
        return "not funded: scholarship funding is only for people working in England."
    if setting == "independent":
        return f"not funded: scholarship funding doesn't cover independent schools. {fee}"
    if result.status == "funded":
        return "funded. The DfE pays the course fee, and you don't need to apply separately."
    if result.status == "conditional":
        return ("funded " + " or ".join(CONDITIONS[c] for c in result.conditions)
                + f". Otherwise: {fee[:1].lower()}{fee[1:]}")
    return f"not funded. {fee}"


def small_print(network: Network) -> str:
    guidance = network.get("funding_guidance") or network.get("npq_guidance")
    where = f" Official guidance: {guidance}" if guidance else ""
    return ("Funding is only for people working in England, once per NPQ, and independent schools "
            f"aren't covered. Places are capped, so being eligible doesn't guarantee one.{where}")


def funding_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                   setting: str | None = None, phase: str | None = None, role: str | None = None,
                   intake: str | None = None) -> Answer:
    """Is it funded? The whole picture for the next intake, one programme's rules, or the verdict
    for one setting (from `setting`, a key or free text, or implied by `phase`)."""
    network, role = load_network(session), _role(role)
    intake = intake if intake and INTAKE.fullmatch(intake) else None
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    if programme is None or programme.is_legacy:
        unknown = programme_code[:40] if programme_code and programme is None else None
        return _overview(session, today, intake, network, programme, unknown)
    intakes = _intakes(session, programme.code, today, intake)
    if not intakes:
        return _not_published(programme.code, network)
    where = _setting(setting, phase)
    lines = []
    for number, (label, rules) in enumerate(intakes):
        if where is None:
            lines.append(f"{programme.code} in {label}: {_summary(rules)}")
        else:
            result = outcome(rules, where, role)
            lines.append(f"{programme.code} in {label}, for {SETTING_LABELS[where]}: "
                         f"{verdict_line(result, network, where)}")
        if number == 0 and len(intakes) > 1:
            lines[-1] += "\n"
    if where is None and _depends_on_setting(intakes, role):
        lines.append("Where do you work? I'll tell you what applies to you.")
        return Answer("\n".join(lines + ["", small_print(network)]),
                      _setting_buttons(programme.code, "ask_funding"))
    return Answer("\n".join(lines + ["", small_print(network)]), (
        Button("Am I eligible?", "ask_eligibility", {"npq": programme.code}),
        Button("Deadlines", "ask_deadlines", {"npq": programme.code}),
        Button("How do I apply?", "how_to_apply", {"npq": programme.code})))


def eligibility_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                       setting: str | None = None, phase: str | None = None,
                       role: str | None = None, intake: str | None = None) -> Answer:
    """Can I get it funded? What the person needs, then the verdict for their setting; asks which
    programme, or where they work, when that decides it."""
    network, role = load_network(session), _role(role)
    intake = intake if intake and INTAKE.fullmatch(intake) else None
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    if programme is None or programme.is_legacy:
        programmes = programme.successors if programme else current_programmes(session)
        return Answer("Which NPQ are you asking about?", tuple(
            Button(p.code, "ask_eligibility", {"npq": p.code}) for p in programmes))
    intakes = _intakes(session, programme.code, today, intake)
    if not intakes:
        return _not_published(programme.code, network)
    where = _setting(setting, phase)
    if where is None and _depends_on_setting(intakes[:1], role):
        return Answer(f"Funding for {programme.code} depends on where you work. Where are you "
                      f"based?\n\n{small_print(network)}",
                      _setting_buttons(programme.code, "ask_eligibility"))
    label, rules = intakes[0]
    if any(r.funded for r in rules):
        lines = [f"To be funded for {programme.code} in {label} you need to:", "• work in England",
                 f"• work where it's funded: {_summary(rules).removeprefix('funded ').rstrip('.')}",
                 f"• not have had DfE funding for {programme.code} before"]
    else:
        lines = [f"{programme.code} has no scholarship funding in {label}."]
    if programme.prerequisite:
        lines.append(f"• meet the prerequisite: {programme.prerequisite}")
    result = outcome(rules, where or "school", role)
    who = SETTING_LABELS[where] if where else "anyone"
    lines += ["", f"For {who}: {verdict_line(result, network, where)}", "", small_print(network)]
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
            title = GROUP_TITLES[condition].format(settings=_settings_words(mine, condition))
            groups.setdefault((FUNDING_CONDITIONS.index(condition), title), []).append(code)
        if not mine:
            groups.setdefault((len(FUNDING_CONDITIONS), "Not funded this intake"), []).append(code)
    lead = f"Scholarship funding for {intake_label(first or '')}:"
    if legacy is not None:
        lead = f"{legacy.code} is no longer offered. {lead}"
    elif unknown:
        lead = f"I don't know an NPQ called \"{unknown}\". {lead}"
    lines = [lead, *(f"• {title}: {', '.join(codes)}"
                     for (_, title), codes in sorted(groups.items()))]
    return Answer("\n".join(lines + ["", small_print(network)]), (
        Button("Am I eligible?", "ask_eligibility"),
        Button("Which NPQ suits me?", "recommend_npq"),
        Button("Deadlines", "ask_deadlines")))


def _intakes(session: Session, code: str, today: dt.date,
             intake: str | None) -> list[tuple[str, list[FundingRule]]]:
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
    if len(found) == 2 and _summary(found[0][1]) == _summary(found[1][1]):
        found = found[:1]
    return found


def _next_intake(session: Session, today: dt.date) -> str | None:
    return session.scalar(select(Cohort.intake).where(Cohort.applications_close >= today)
                          .order_by(Cohort.applications_close).limit(1))


def _summary(rules: list[FundingRule]) -> str:
    funded = [r for r in rules if r.funded]
    if not funded:
        return "not funded this intake."
    parts = []
    for condition in sorted({r.condition for r in funded}, key=FUNDING_CONDITIONS.index):
        settings = _settings_words(funded, condition)
        parts.append(f"for everyone in {settings}" if condition == "all_eligible"
                     else f"in {settings} {CONDITIONS[condition]}")
    return "funded " + "; or ".join(parts) + "."


def _settings_words(rules: list[FundingRule], condition: str) -> str:
    """'state-funded schools and 16 to 19 settings', in a fixed order."""
    settings = {r.setting for r in rules if r.condition == condition}
    return " and ".join(RULE_SETTING_WORDS[s] for s in RULE_SETTING_WORDS if s in settings)


def _depends_on_setting(intakes: list[tuple[str, list[FundingRule]]], role: str | None) -> bool:
    """Whether people in different settings get different answers (so we must ask)."""
    def verdict(rules: list[FundingRule], setting: str) -> tuple[str, tuple[str, ...]]:
        result = outcome(rules, setting, role)
        return result.status, result.conditions
    return any(len({verdict(rules, s) for s in SETTING_BUTTONS}) > 1 for _, rules in intakes)


def _setting(setting: str | None, phase: str | None) -> str | None:
    chosen = setting if setting in SETTING_LABELS else parse_setting(setting)
    canonical = phase if phase in PHASE_SETTING else parse_phase(phase)
    return chosen or PHASE_SETTING.get(canonical or "")


def _role(role: str | None) -> str | None:
    return role if role in ROLES else parse_role(role)


def _setting_buttons(code: str, intent: str) -> tuple[Button, ...]:
    return tuple(Button(title, intent, {"setting": key, "npq": code})
                 for key, title in SETTING_BUTTONS.items())


def _not_published(code: str | None, network: Network) -> Answer:
    what = f" for {code}" if code else ""
    return Answer(f"The funding rules{what} for the next intake haven't been published yet. I can "
                  f"remind you when the dates are out.\n\n{small_print(network)}",
                  (Button("Remind me", "subscribe_reminders", {"npq": code} if code else {}),
                   Button("Talk to a person", "talk_to_human")))
