"""Who is funded: where someone works (read from free text), what one programme's rules for one
intake give them, and how a verdict and a rule summary are worded. Pure: no database.

The rules themselves are FundingRule rows (data/catalogue/funding_rules.yaml); a rule marked
provisional is a projection, and every sentence resting on one says "expected, to be confirmed".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from npq.db.models import FUNDING_CONDITIONS

# What a user can tell us about where they work, and the funding rules' setting for each.
SETTING_LABELS: dict[str, str] = {
    "school": "a state-funded school or academy",
    "hospital_school": "a hospital school",
    "virtual_school": "a virtual school",
    "young_offender": "education in a young offender institution",
    "sixteen_to_nineteen": "a 16 to 19 setting (sixth form or FE college)",
    "early_years": "an early years setting (nursery or childminder)",
    "itt_provider": "an initial teacher training (ITT) provider",
    "other": "a setting that isn't a school, such as a local authority",
    "independent": "an independent (private) school",
    "outside_england": "a school outside England",
}
# Hospital schools, virtual schools and the education in young offender institutions are
# publicly funded schools: the school rules apply to them.
RULE_SETTING: dict[str, str | None] = {
    "school": "school", "hospital_school": "school", "virtual_school": "school",
    "young_offender": "school", "sixteen_to_nineteen": "sixteen_to_nineteen",
    "early_years": "early_years", "itt_provider": "other", "other": "other",
    "independent": None, "outside_england": None,  # no rule covers them: never funded
}
SETTING_PATTERNS: tuple[tuple[str, str], ...] = (
    ("outside_england", r"\b(wales|welsh|scotland|scottish|northern ireland|abroad|overseas|"
                        r"international school)\b"),
    # "a private day nursery" is an early years setting, not an independent school
    ("independent", r"\b(independent|private|fee paying|public school)\b(?! (day |daycare )?"
                    r"(nursery|nurseries|childminder|childminding|pre ?school|day ?care|"
                    r"early years|eyfs))"),
    ("hospital_school", r"\bhospital (school|education)\b"),
    ("virtual_school", r"\bvirtual school\b"),
    ("young_offender", r"\b(young offenders?|yoi|secure (school|college|childrens home|unit))\b"),
    ("itt_provider", r"\b(itt|scitt|initial teacher training|teacher training provider|"
                     r"university|school direct)\b"),
    ("early_years", r"\b(nursery|nurseries|childminder|childminding|pre ?school|early years|eyfs|"
                    r"day ?care|childcare|pvi)\b"),
    ("sixteen_to_nineteen", r"\b(sixth form college|6th form college|fe|further education|college|"
                            r"16 19|16 to 19|post 16)\b"),
    ("other", r"\b(local authority|council)\b"),
    ("school", r"\b(state|maintained|academy|academies|free school|mat|trust|primary|secondary|"
               r"special|pru|alternative provision|comprehensive|grammar|school)\b"),
)
# What a phase implies when no setting is given. A school phase is taken as a state-funded school;
# the verdict for an independent school is given when the user says so.
PHASE_SETTING = {"early_years": "early_years", "sixteen_to_nineteen": "sixteen_to_nineteen",
                 "primary": "school", "secondary": "school", "special": "school",
                 "all_through": "school"}
CONDITIONS = {
    "pp50": "your school is in the top 50% of schools by pupil premium",
    "itt_lead_mentor": "you're an ITT lead mentor",
    "new_headteacher": "you're in your first five years of headship",
}
GROUP_TITLES = {"all_eligible": "Everyone in {settings}",
                "pp50": "Only {settings} in the top 50% by pupil premium",
                "itt_lead_mentor": "ITT lead mentors",
                "new_headteacher": "Headteachers in their first five years"}
RULE_SETTING_WORDS = {"school": "state-funded schools", "sixteen_to_nineteen": "16 to 19 settings",
                      "early_years": "early years settings",
                      "other": "other settings (such as ITT providers)"}
EXPECTED = " (expected, to be confirmed)"
NOT_FUNDED_GROUP = "Not funded this intake"


class RuleLike(Protocol):
    setting: str
    condition: str
    funded: bool
    note: str
    provisional: bool


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


def expected(rules: Iterable[RuleLike]) -> str:
    """' (expected, to be confirmed)' when any of these rules is a projection, else ''."""
    return EXPECTED if any(r.provisional for r in rules) else ""


def verdict(result: Outcome, setting: str | None, fee_note: str, pp50_link: str | None,
            rules: Sequence[RuleLike] = ()) -> str:
    """The verdict, then what it means: 'funded ... The DfE pays', 'funded only if ... Check
    your school: ... If not, ...' or 'not funded. <who pays>'."""
    if setting == "outside_england":
        return "not funded, because scholarship funding is only for people working in England."
    if setting == "independent":
        return (f"not funded, because scholarship funding doesn't cover independent schools. "
                f"{fee_note}")
    if result.status == "funded":
        return (f"funded{expected(rules)}. The DfE pays the course fee, and you don't need to "
                "apply for funding separately.")
    if result.status == "conditional":
        conditions = " or ".join(CONDITIONS[c] for c in result.conditions)
        lines = [f"funded only if {conditions}{expected(rules)}."]
        if "pp50" in result.conditions and pp50_link:
            lines.append(f"Check your school: {pp50_link}")
        lines.append(f"If not, it isn't funded. {fee_note}")
        return "\n".join(lines)
    return f"not funded{expected(rules)}. {fee_note}"


def summary(rules: Sequence[RuleLike]) -> str:
    """'funded for everyone in state-funded schools; or in state-funded schools if ...'."""
    funded = [r for r in rules if r.funded]
    if not funded:
        return "not funded this intake"
    parts = []
    for condition in sorted({r.condition for r in funded}, key=FUNDING_CONDITIONS.index):
        settings = settings_words(funded, condition)
        parts.append(f"for everyone in {settings}" if condition == "all_eligible"
                     else f"in {settings} if {CONDITIONS[condition]}")
    return "funded " + "; or ".join(parts)


def settings_words(rules: Iterable[RuleLike], condition: str) -> str:
    """'state-funded schools and 16 to 19 settings', in a fixed order."""
    settings = {r.setting for r in rules if r.condition == condition}
    return " and ".join(RULE_SETTING_WORDS[s] for s in RULE_SETTING_WORDS if s in settings)


def group_title(rules: Iterable[RuleLike], condition: str) -> str:
    """The overview's line title for the programmes funded under `condition`."""
    return GROUP_TITLES[condition].format(settings=settings_words(rules, condition))
