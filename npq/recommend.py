"""Which NPQ suits me: pure rules from role, phase and ambition to one programme, the reason and
one alternative; the answer names them as the programme database does.

The parsers that read a profile from free text live in npq.profile and are re-exported here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from npq.answers import Answer, Button
from npq.db.models import Programme
from npq.profile import AMBITIONS, Profile, parse_ambition, parse_phase, parse_role, read_profile
from npq.vocabulary import PHASES, ROLES

__all__ = [
    "AMBITIONS", "Pick", "Profile", "missing_facts", "normalise", "parse_ambition", "parse_phase",
    "parse_role", "question_for", "read_profile", "recommend", "recommendation_answer",
]

PRIMARY_PHASES = frozenset({"primary", "all_through"})  # where a primary maths lead works
# Roles already leading a school: a leadership ambition does not move them down a level.
SCHOOL_LEADERS = frozenset({"headteacher", "new_headteacher", "head_of_school", "executive_head",
                            "trust_ceo"})
ONE_SCHOOL_HEADS = frozenset({"headteacher", "head_of_school"})  # NPQEL is their step up
NEEDS_AMBITION = frozenset({"deputy_head", "classroom_teacher", "early_career_teacher",
                            "middle_leader"})


@dataclass(frozen=True)
class Pick:
    code: str
    reason: str
    alternative: str
    alternative_reason: str
    next_step: tuple[str, str] | None = None  # a programme for later, and when it fits


ROLE_PICKS: dict[str, Pick] = {
    "classroom_teacher": Pick("NPQLT", "it's the NPQ for teachers who lead, or want to lead, "
                              "teaching in a subject, year group or phase",
                              "NPQLBC", "if behaviour and culture interest you most"),
    "early_career_teacher": Pick("NPQLT", "it's the natural first NPQ once you're ready to lead "
                                 "teaching beyond your own class",
                                 "NPQLBC", "if behaviour and culture interest you most"),
    "head_of_department": Pick("NPQLT", "it's built for teachers who lead teaching in a subject "
                               "or department", "NPQSL", "if a senior leadership role is next"),
    "key_stage_lead": Pick("NPQLT", "it's built for teachers who lead teaching across a key stage "
                           "or phase", "NPQSL", "if a senior leadership role is next"),
    "head_of_year": Pick("NPQLBC", "it's about leading behaviour, culture and pupil wellbeing, the "
                         "heart of a pastoral role", "NPQLT", "if you also lead teaching"),
    "middle_leader": Pick("NPQLT", "it's the NPQ about leading teaching in a team, department or "
                          "phase", "NPQLBC", "if your team's focus is behaviour and culture"),
    "senco": Pick("NPQSENCO", "it's the qualification for SENCOs",
                  "NPQSL", "if you also carry whole-school leadership"),
    "behaviour_lead": Pick("NPQLBC", "it's the NPQ for people who lead behaviour and culture",
                           "NPQSL", "if you lead it across the whole school as a senior leader"),
    "literacy_lead": Pick("NPQLL", "it's the NPQ for literacy and reading leads, in primary or "
                          "secondary", "NPQLT", "if you lead teaching more widely"),
    "cpd_lead": Pick("NPQLTD", "it's the NPQ for people who develop other teachers: CPD leads, "
                     "mentors and induction tutors", "NPQLT", "if you mainly lead teaching"),
    "assistant_head": Pick("NPQSL", "it's for senior leaders with whole-school responsibility",
                           "NPQH", "if headship is your next step"),
    "deputy_head": Pick("NPQSL", "it's for senior leaders with whole-school responsibility",
                        "NPQH", "when you're ready to aim for headship"),
    "headteacher": Pick("NPQH", "it's for serving headteachers as well as aspiring ones",
                        "EHCO", "if you're in your first five years of headship",
                        ("NPQEL", "when you lead, or plan to lead, more than one school")),
    "new_headteacher": Pick("EHCO", "it's coaching and support for heads in their first five "
                            "years", "NPQH", "if you haven't taken the headship NPQ yet"),
    "head_of_school": Pick("NPQH", "it's for serving and aspiring headteachers and heads of school",
                           "NPQEL", "if you lead across several schools"),
    "executive_head": Pick("NPQEL", "it's for leaders of more than one school",
                           "NPQH", "if you haven't taken the headship NPQ yet"),
    "trust_ceo": Pick("NPQEL", "it's for trust CEOs and others who lead several schools",
                      "NPQH", "if you also head a school and haven't taken the headship NPQ"),
    "early_years_lead": Pick("NPQEYL", "it's the NPQ for leaders in nurseries, school nurseries "
                             "and childminding", "NPQLL", "if early language and reading is your "
                             "focus"),
}

AMBITION_PICKS: dict[str, Pick] = {
    "headship": Pick("NPQH", "it's the qualification for aspiring and serving headteachers",
                     "NPQSL", "if you'd like whole-school leadership experience first"),
    "senior_leadership": Pick("NPQSL", "it's for senior leaders, or those about to be, with "
                              "whole-school responsibility", "NPQH", "if headship is the goal"),
    "executive_leadership": Pick("NPQEL", "it's for leaders of more than one school",
                                 "NPQH", "if you haven't taken the headship NPQ yet"),
    "lead_teaching": Pick("NPQLT", "it's the NPQ about leading teaching in a subject, year group "
                          "or phase", "NPQLTD", "if developing other teachers appeals more"),
    "teacher_development": Pick("NPQLTD", "it's the NPQ about developing other teachers",
                                "NPQLT", "if you'd rather lead teaching in your own area"),
    "behaviour": Pick("NPQLBC", "it's the NPQ about leading behaviour and culture",
                      "NPQSL", "if you want to lead it across the whole school"),
    "literacy": Pick("NPQLL", "it's the NPQ about leading literacy and reading",
                     "NPQLT", "if you'd rather lead teaching more widely"),
    "send": Pick("NPQSENCO", "it's the qualification for SENCOs and aspiring SENCOs",
                 "NPQLBC", "if behaviour and inclusion across the school is your focus"),
    "early_years": Pick("NPQEYL", "it's the NPQ for early years leaders",
                        "NPQLL", "if early language and reading is your focus"),
}
PRIMARY_MATHS = Pick("NPQLPM", "it's the NPQ for maths leads in primary schools",
                     "NPQLT", "if you lead teaching beyond maths")
OTHER_MATHS = Pick("NPQLT", "Leading Primary Mathematics is for primary schools, so the NPQ about "
                   "leading teaching in your subject fits best", "NPQLTD",
                   "if developing other maths teachers is your focus")


def normalise(profile: Profile) -> Profile:
    """Canonical values, reading free text ("DHT", "primary school") where a slot holds it."""
    role = profile.role if profile.role in ROLES else parse_role(profile.role)
    phase = profile.phase if profile.phase in PHASES else parse_phase(profile.phase)
    ambition = profile.ambition if profile.ambition in AMBITIONS else parse_ambition(
        profile.ambition)
    return Profile(role, phase, ambition)


def recommend(profile: Profile) -> Pick | None:
    """The programme for this profile, or None when there is nothing to go on."""
    profile = normalise(profile)
    role, ambition = profile.role, profile.ambition
    if ambition == "not_sure" or ambition not in AMBITIONS:
        ambition = None
    if role == "deputy_head" and ambition in (None, "senior_leadership"):
        return ROLE_PICKS["deputy_head"]
    role_pick = _maths_pick(profile.phase) if role == "maths_lead" else ROLE_PICKS.get(role or "")
    ambition_pick = (_maths_pick(profile.phase) if ambition == "maths"
                     else AMBITION_PICKS.get(ambition or ""))
    if ambition_pick is None or role_pick is None:
        return role_pick or ambition_pick
    if ambition_pick.code == role_pick.code:
        return role_pick
    if role in SCHOOL_LEADERS and ambition in ("headship", "senior_leadership"):
        return role_pick  # already leading a school
    if role in ONE_SCHOOL_HEADS and ambition == "executive_leadership":
        return ambition_pick
    if role in SCHOOL_LEADERS:  # a head who wants SEND expertise is still a head
        return Pick(role_pick.code, role_pick.reason, ambition_pick.code,
                    f"if {AMBITIONS[ambition or '']} is your focus")
    if ambition_pick.alternative == role_pick.code:
        return ambition_pick
    return Pick(ambition_pick.code, ambition_pick.reason, role_pick.code,
                f"which fits your current role as {ROLES[role or '']}")


def missing_facts(profile: Profile) -> list[str]:
    """What is still needed ("role", "phase", "ambition") before a confident recommendation.
    Recompute it after each answer: a SENCO needs nothing more, a deputy head needs the ambition."""
    profile = normalise(profile)
    role, phase, ambition = profile.role, profile.phase, profile.ambition
    needed = []
    if role is None and ambition in (None, "not_sure"):
        needed.append("role")
    maths = role == "maths_lead" or ambition == "maths"
    if maths and phase is None:
        needed.append("phase")
    if role in NEEDS_AMBITION and ambition is None:
        needed.append("ambition")
    return needed


def recommendation_answer(session: Session, profile: Profile) -> Answer:
    """The recommendation in a few lines, with next steps; asks for the role if nothing is known."""
    profile = normalise(profile)
    pick = recommend(profile)
    if pick is None:
        return question_for("role")
    main, alternative = session.get(Programme, pick.code), session.get(Programme, pick.alternative)
    if main is None or main.is_legacy:
        return Answer("I couldn't find the right programme in our catalogue just now. Our team "
                      "can suggest one: would you like to talk to someone?",
                      (Button("Talk to a person", "talk_to_human"),
                       Button("Which NPQs are there?", "programme_info")))
    coaching = "" if main.is_npq else " It's coaching, not an NPQ."
    lines = [f"I'd suggest {main.code}: {main.name}.{coaching}",
             f"Why: {pick.reason}.{_suits(profile)}"]
    lines.append(f"Who it's for: {main.audience}")
    if main.prerequisite:
        lines.append(f"Before you apply: {main.prerequisite}")
    buttons = [Button(f"About {main.code}", "programme_info", {"npq": main.code}),
               Button("Nearest hub", "find_hub", {"npq": main.code}),
               Button("Deadlines", "ask_deadlines", {"npq": main.code})]
    later = session.get(Programme, pick.next_step[0]) if pick.next_step else None
    for other, wording in ((alternative, f"Also worth a look: {{}}, {pick.alternative_reason}."),
                           (later, f"Later: {{}}, {pick.next_step[1] if pick.next_step else ''}.")):
        if other is not None and not other.is_legacy:
            lines.append(wording.format(_named(other)))
            buttons.append(Button(f"About {other.code}", "programme_info", {"npq": other.code}))
    return Answer("\n\n".join(lines), tuple(buttons))


def _named(programme: Programme) -> str:
    """'NPQH (NPQ for Headship)'; coaching says it is not an NPQ."""
    kind = "" if programme.is_npq else ", coaching rather than an NPQ"
    return f"{programme.code} ({programme.name}{kind})"


QUESTION_ROLES = ("classroom_teacher", "head_of_department", "senco", "assistant_head",
                  "deputy_head", "headteacher", "early_years_lead")
QUESTION_PHASES = ("primary", "secondary", "special", "all_through", "sixteen_to_nineteen",
                   "early_years")
QUESTION_AMBITIONS = ("headship", "senior_leadership", "lead_teaching", "teacher_development",
                      "behaviour", "send", "not_sure")


def question_for(fact: str) -> Answer:
    """The form's question for a missing fact, with the common answers as buttons."""
    if fact == "phase":
        return Answer("Which phase do you work in?", tuple(
            Button(_upper_first(PHASES[key]), "inform", {"phase": key})
            for key in QUESTION_PHASES))
    if fact == "ambition":
        return Answer("What would you like to do next in your career?", tuple(
            Button(_upper_first(AMBITIONS[key]), "inform", {"ambition": key})
            for key in QUESTION_AMBITIONS))
    return Answer("Happy to help you choose. What's your role at the moment? For example "
                  "\"a head of department\" or \"a SENCO\".", tuple(
                      Button(_upper_first(ROLES[key].removeprefix("a ").removeprefix("an ")),
                             "inform", {"role": key}) for key in QUESTION_ROLES))


def _upper_first(label: str) -> str:
    return label[:1].upper() + label[1:]


def _suits(profile: Profile) -> str:
    """' That suits you as a deputy head interested in becoming a headteacher.' from what we
    know."""
    who = ROLES.get(profile.role or "")
    wants = AMBITIONS.get(profile.ambition or "") if profile.ambition != "not_sure" else None
    if who is None and wants is None:
        return ""
    who = f"you as {who}" if who else "someone"
    return f" That suits {who}{f' interested in {wants}' if wants else ''}."


def _maths_pick(phase: str | None) -> Pick:
    return PRIMARY_MATHS if phase is None or phase in PRIMARY_PHASES else OTHER_MATHS


# "what's the npq for sendcos called", "do u do npq for maths in secondary": the programme for a
# kind of person or subject, asked as a question about the programmes
FOR_SUBJECT = re.compile(r"\b(npqs?|qualifications?|courses?|programmes?|one|anything|something)"
                         r"( is| are| would be)? (for|in|about|on|aimed at) "
                         r"(?P<subject>[a-z ]{3,60})")
PLURALS = {"sencos": "senco", "sendcos": "sendco", "heads": "head", "headteachers": "headteacher",
           "leaders": "leader", "mentors": "mentor", "deputies": "deputy", "nurseries":
           "nursery", "principals": "principal", "childminders": "childminder", "teachers":
           "teacher"}


def programme_for_subject(text: str | None) -> Pick | None:
    """The programme a question asks for by who or what it is for ("the npq for SENCOs"), or
    None when it names no one and nothing the recommendation can go on."""
    words = " ".join(re.sub(r"[^a-z ]+", " ", (text or "")[:300].lower()).split())
    found = FOR_SUBJECT.search(words)
    if found is None:
        return None
    subject = " ".join(PLURALS.get(w, w) for w in found.group("subject").split())
    role, ambition = parse_role(subject), parse_ambition(subject)
    if role is None and ambition is None:
        return None
    return recommend(Profile(role, parse_phase(text), ambition))
