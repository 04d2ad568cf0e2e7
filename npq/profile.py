"""Read who someone is from free text: their role, their phase and their ambition.

British English, the usual abbreviations (DHT, AHT, HoD, SLT, KS2, SENCo, EYFS, MAT) and small
typos are understood; anything unclear gives None rather than a guess. Values are the keys of
npq.vocabulary.ROLES and PHASES (shared with the NLU model) and of AMBITIONS below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from rapidfuzz.distance import OSA
from rapidfuzz.process import extract

MAX_TEXT = 1000  # a profile fits in a few sentences; longer input is cut, not rejected

AMBITIONS: dict[str, str] = {
    "headship": "becoming a headteacher",
    "senior_leadership": "a senior leadership role",
    "executive_leadership": "leading more than one school",
    "lead_teaching": "leading teaching in a subject, year group or phase",
    "teacher_development": "developing other teachers",
    "behaviour": "leading behaviour and culture",
    "literacy": "leading literacy and reading",
    "maths": "leading maths",
    "send": "leading special educational needs (SEND)",
    "early_years": "leading in the early years",
    "not_sure": "not sure yet",
}


@dataclass(frozen=True)
class Profile:
    role: str | None = None
    phase: str | None = None
    ambition: str | None = None


_HEAD = r"(?:head ?teacher|headmaster|headmistress|principal|head)"
_COORD = r"(?:lead|leader|co ?ordinator|manager|champion|specialist)"
_FEW = r"(?:a|one|two|three|four|1|2|3|4|a few|a couple of|a couple)"
# A role described rather than named: "I manage a nursery", "I'm responsible for behaviour and
# attendance across the whole school", "I look after the CPD". Said of oneself (I, I've, or at
# the start of a clause, where "I'm" ends the one before), with up to three words between the
# responsibility and what it is for, within one clause.
_I_LOOK_AFTER = (r"(?:^|\| |\b(?:i|ive|i have) )(?:also |currently |now |mainly |basically |"
                 r"been )?"
                 r"(?:manage|managing|run|running|lead|leading|look after|looking after|"
                 r"in charge of|responsible for|oversee|overseeing|coordinate|coordinating|"
                 r"co ordinate|organise|organising|organize|organizing|head up|heading up|"
                 r"deliver|delivering|own)(?: [a-z]+){0,3}? ")


def _described(subject: str) -> str:
    return rf"{_I_LOOK_AFTER}(?:{subject})\b"


def _either(*alternatives: str) -> str:
    return "|".join(alternatives)


# Most specific first: the first role that matches wins ("deputy head" before "head").
ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("trust_ceo", _either(
        r"\b(ceo|chief executive)\b",
        r"\b(lead|leads|run|runs) (a|the|our|my) (trust|mat)\b")),
    ("executive_head", _either(
        rf"\b(executive|exec) ({_HEAD}|leader)\b",
        r"\b(head of|lead|leads|run|runs|oversee|oversees) "
        r"(two|three|four|several|multiple|\d+) schools\b")),
    ("new_headteacher", _either(
        rf"\b(new|newly appointed|recently appointed|first time|first year|second year|"
        rf"early career) {_HEAD}\b",
        r"\bnew to headship\b",
        r"\bfirst (year|years|term) (of|in) headship\b",
        rf"\bjust (become|became|been appointed|been made|started as|got)( as)? (a |the |my "
        rf"first )?{_HEAD}\b",
        rf"\b(been appointed|am starting|i start|starting|start|taking up|take up|will be)( as)? "
        rf"(a |the |my )?(first )?{_HEAD}\b(?! of\b).{{0,30}}\b(from|in|this|next) (september|"
        r"january|april|easter|term|year)\b",
        r"\b(my|a) first headship\b",
        rf"\b(been|as) (a |the )?{_HEAD} (for )?(only )?{_FEW} (year|years)\b",
        rf"\b(been|as) (a |the )?{_HEAD} (for )?(only )?(\d+|a few|a couple of|some) "
        r"(months|terms|weeks)\b",
        # "im a headteacher, been in post 6 months"
        rf"\b{_HEAD}\b(?! of\b).{{0,40}}\bin (post|the role|the job|role|headship) (for )?"
        rf"(only |just )?({_FEW} (year|years)|(\d+|six|a few|a couple of|some) (months|terms|"
        r"weeks))\b")),
    ("head_of_school", r"\bhead of school\b"),
    ("deputy_head", _either(
        rf"\b(deputy|vice) {_HEAD}\b(?! of\b)",
        r"\bdht\b",
        r"\bdeputy\b(?! (senco|sendco|dsl|designated|safeguarding|head of|manager|lead|leader|"
        r"director|ceo|chief))")),
    ("assistant_head", _either(
        rf"\b(assistant|asst) {_HEAD}\b(?! of\b)",
        r"\baht\b|\bsenior leader\b|\bslt\b|\b(senior|leadership) team\b")),
    ("headteacher", rf"(?<!my )(?<!our )(?<!your )\b{_HEAD}\b(?! (of|office|start|count)\b)"),
    ("senco", _either(
        r"\b(senco|sendco|sen co ?ordinator|send co ?ordinator)\b",
        r"\bspecial educational needs (and disabilities )?co ?ordinator\b",
        _described(r"send|sen|inclusion|special educational needs"),
        r"\binclusion (lead|leader|manager|co ?ordinator)\b|\bsend (lead|leader|manager)\b")),
    ("early_years_lead", _either(
        r"\b(nursery|early years|eyfs|pre school|preschool|childcare|foundation stage) "
        r"(manager|lead|leader|head|owner|co ?ordinator|director)\b",
        r"\bhead of (early years|eyfs|nursery)\b|\bchild ?minders?\b|\bchild ?minding\b",
        r"\b(run|own|manage|runs|owns|manages) (a|the|our|my) (small |private |day |community )?"
        r"(nursery|pre school|preschool|playgroup|day nursery|childcare)( business| setting)?\b",
        _described(r"nursery|pre school|preschool|early years|eyfs|foundation stage"))),
    ("maths_lead", _either(
        rf"\b(maths|math|mathematics|numeracy) (subject )?{_COORD}\b",
        r"\b(lead|leads|leading) (on )?(maths|mathematics|numeracy)\b|\bmastery specialist\b",
        _described(r"maths|math|mathematics|numeracy"))),
    ("literacy_lead", _either(
        rf"\b(literacy|reading|phonics|english|oracy) (subject )?{_COORD}\b",
        r"\b(lead|leads|leading) (on )?(literacy|reading|phonics|oracy)\b",
        _described(r"literacy|reading|phonics|oracy"))),
    ("behaviour_lead", _either(
        rf"\b(behaviour|attendance) {_COORD}\b",
        r"\b(lead|leads|leading) (on )?behaviour\b|\bhead of behaviour\b",
        _described(r"behaviour|attendance|behaviour and attendance"))),
    ("cpd_lead", _either(
        r"\b(cpd|professional development|staff development|teacher development|teaching and "
        r"learning|t and l|ect|nqt|induction|itt|scitt) "
        r"(lead|leader|co ?ordinator|tutor|mentor|manager|director)\b",
        r"(?<!my )\b(lead )?mentors?\b|\bmentoring\b",
        # "I coach new teachers", "i support our ECTs", "I train trainee teachers"
        r"\b(coach|coaches|coaching|mentor|train|trains|training|support|supports|supporting|"
        r"look after|looks after) (our |the |new |newly qualified |early career |trainee |student "
        r")*(teachers|ects|nqts|trainees|colleagues)\b",
        r"\b(coach|coaches|coaching|train|trains) (our |the |new )*staff\b",
        r"\b(lead|leads|leading|run|runs) (on )?(cpd|professional development|teacher "
        r"development|training for (staff|teachers))\b",
        _described(r"cpd|inset|professional development|staff development|staff training|"
                   r"teacher development|training for (staff|teachers)|induction"))),
    ("head_of_year", _either(
        r"\bhead of (year|house|sixth form|ks5|key stage 5)\b|\bhoy\b",
        r"\b(year|pastoral|progress|house) (lead|leader|manager|head)\b",
        r"\b(lead|leads|leading) pastoral\b")),
    ("head_of_department", _either(
        r"\bhead of (department|faculty|subject|maths|mathematics|english|science|history|"
        r"geography|computing|art|music|pe|languages|mfl|re|technology|drama|humanities|"
        r"[a-z]+ department)\b",
        r"\bhod\b|\b(subject|curriculum|department|faculty) (lead|leader|head)\b",
        r"\bdepartment head\b")),
    ("key_stage_lead", _either(
        rf"\b(key stage [1-5]|ks ?[1-5]|phase|lower school|upper school|year group|infant|junior|"
        rf"lks2|uks2) {_COORD}\b",
        r"\bhead of (key stage [1-4]|ks ?[1-4]|lower school|upper school|infants|juniors)\b")),
    ("middle_leader", r"\bmiddle (leader|leaders|leadership|manager|management)\b|\btlr\b"),
    ("early_career_teacher", r"\b(ect|ects|ect1|ect2|nqt|early career teacher|newly qualified)\b"),
    ("classroom_teacher", _either(
        r"\b(classroom teacher|class teacher|main scale|teacher|teach|lecturer|practitioner|"
        r"educator|nursery nurse)\b",
        r"\b(early years|eyfs|nursery|pre school|preschool) (worker|assistant|officer|staff)\b",
        r"\b(i|i ve|ive|i have) (work|worked|been working) (in|at) (a|the|our) (nursery|pre school|"
        r"preschool|school|primary|secondary|academy)\b")),
)

PHASE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("all_through", r"\b(all through|all age|through school|3 18|4 18|2 19)\b"),
    ("sixteen_to_nineteen", r"\b(sixth form college|6th form college|fe|further education|"
                            r"college|16 19|16 to 19|post 16)\b"),
    ("special", r"\b(special school|special needs school|sen school|send school|ap|alternative "
                r"provision|pru|pupil referral unit|hospital school|resource base)\b"),
    ("early_years", r"\b(nursery|nurseries|early years|eyfs|pre school|preschool|childminder|"
                    r"childminding|reception|foundation stage)\b"),
    ("primary", r"\b(primary|primaries|infant|infants|junior|juniors|ks1|ks2|key stage [12]|"
                r"lks2|uks2|first school|year [1-6]|y[1-6])\b"),
    ("secondary", r"\b(secondary|secondaries|high school|grammar|comprehensive|ks3|ks4|key "
                  r"stage [34]|gcse|gcses|a level|year (7|8|9|10|11)|y(7|8|9|10|11)|11 16|"
                  r"11 18)\b"),
)

# Ambitions are read only where someone says what they want ("want to become a head"), so the
# role "deputy head" never counts as the ambition "headship".
ASPIRE = (r"\b(want|wants|wanted|wanting|would like|id like|like|hope|hopes|hoping|aim|aims|"
          r"aiming|aspire|aspires|aspiring|plan|plans|planning|keen|looking|ambition|ambitions|"
          r"next step|step up|stepping up|move|moving|progress|go for|going for|working towards|"
          r"work towards|prepare|preparing|interested|interest|focus|passionate|develop my|"
          r"get better|thinking about|thinking of|considering|consider|eyeing|fancy|tempted by|"
          r"tempted to|dream|dreaming|wish|wishing|would love|love to|goal)\b")
AMBITION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("executive_leadership", _either(
        rf"\b(executive|exec) ({_HEAD}|leader|leadership)\b|\bceo\b|\bchief executive\b",
        r"\b(lead|leading|run|running|oversee|overseeing) (a |the |our )?(trust|mat|group of "
        r"schools|several schools|multiple schools|more than one school)\b",
        r"\bsystem leader(ship)?\b")),
    ("senior_leadership", _either(
        rf"\b(deputy|vice|assistant) {_HEAD}\b|\bdeputy\b|\bslt\b|\bsmt\b",
        r"\bsenior (leader|leaders|leadership|management|team|role)\b|\bleadership team\b",
        r"\bwhole school (role|responsibility|leadership)\b")),
    ("headship", r"(?<!deputy )(?<!vice )(?<!assistant )(?<!executive )(?<!exec )"
                 r"\b(headship|head ?teacher|headmaster|headmistress|principal|head)\b"
                 r"(?! of (?!school))"),
    ("send", r"\b(send|sen|senco|sendco|special (educational )?needs|inclusion)\b"
             r"(?! (me|you|it|my|an|a|the|this|that|us|them|off|over|email)\b)"),
    ("early_years", r"\b(early years|eyfs|nursery|foundation stage|reception)\b"),
    ("maths", r"\b(maths|math|mathematics|numeracy)\b"),
    ("literacy", r"\b(literacy|phonics|english|oracy|writing)\b|(?<!near )(?<!in )\breading\b"),
    ("behaviour", r"\b(behaviour|culture|pastoral|attendance|wellbeing)\b"),
    ("teacher_development", _either(
        r"\b(cpd|professional development|teacher development|mentor|mentoring|mentors)\b",
        r"\bdevelop(ing)? (other )?(teachers|staff|colleagues)\b",
        r"\b(coach|coaching|itt|induction)\b")),
    ("lead_teaching", _either(
        r"\bmiddle (leader|leaders|leadership|management)\b",
        r"\blead(ing)? (teaching|a (department|subject|team|key stage|phase|year group))\b",
        r"\bhead of (department|faculty|subject|[a-z]+)\b",
        r"\bsubject (lead|leader)\b|\bdepartment\b|\bcurriculum lead\b")),
)
# A programme someone is looking at says what they aim for ("looking at NPQH" is headship).
PROGRAMME_AMBITIONS: tuple[tuple[str, str], ...] = (
    ("executive_leadership", r"\bnpq ?el\b"), ("senior_leadership", r"\bnpq ?sl\b"),
    ("headship", r"\b(npq ?h|ehco)\b"), ("send", r"\bnpq ?sen ?co\b"),
    ("early_years", r"\bnpq ?eyl\b"), ("maths", r"\bnpq ?lpm\b"), ("literacy", r"\bnpq ?ll\b"),
    ("behaviour", r"\bnpq ?lbc\b"), ("teacher_development", r"\bnpq ?ltd\b"),
    ("lead_teaching", r"\bnpq ?lt\b"),
)
NOT_SURE = (r"^\W*(not sure|unsure|dont know|do not know|no idea|undecided|havent decided|"
            r"not decided|dunno|idk|no plans|open to anything|nothing yet|not yet)\b")
PHRASES_TO_CLAUSE = re.compile(r"\s*([.,;!?|]|\bbut\b|\band i\b|\bim\b|\bi am\b)\s*")

# Words worth correcting when misspelt ("primry", "deptuy", "sencoe"); short words never are.
VOCABULARY = sorted(set("""
deputy assistant headteacher headmaster headmistress principal headship department faculty
primary secondary nursery nurseries reception infant infants junior juniors academy special
college further education sixth comprehensive grammar teacher teachers teaching classroom
leader leaders leadership leading senior middle management manager coordinator subject
curriculum literacy reading phonics english oracy maths mathematics numeracy behaviour
pastoral attendance wellbeing culture mentor mentors mentoring trainee trainees induction
development professional executive chief become becoming aspiring aspire interested
childminder childminding preschool foundation through stage senco sendco inclusion
alternative provision hospital lecturer mastery secondaries primaries
""".split()))
NEVER_CORRECT = frozenset({"primarily", "secondly", "heading", "header", "reader", "readers",
                           "leads", "teach", "seconded", "mentioned", "manage", "managed",
                           "manages", "managing", "principle", "principles", "leaded"})


def parse_role(text: str | None) -> str | None:
    """The canonical role a message describes ("DHT" -> deputy_head), or None."""
    words = _words(text)
    return _first_match(ROLE_PATTERNS, _without_aspirations(words)) if words else None


def parse_phase(text: str | None) -> str | None:
    """The canonical phase ("KS2" -> primary); None when absent or contradictory."""
    words = _words(text)
    if not words:
        return None
    found = {key for key, pattern in PHASE_PATTERNS if re.search(pattern, words)}
    if "all_through" in found or found == {"primary", "secondary"}:
        return "all_through"
    if found == {"early_years", "primary"}:
        return "primary"  # a primary school with a nursery or reception class
    return found.pop() if len(found) == 1 else None


def parse_ambition(text: str | None) -> str | None:
    """The ambition in a reply to "what would you like to do next?" ("become a head" ->
    headship, "SLT" -> senior_leadership, "not sure" -> not_sure), or None."""
    words = _words(text)
    if not words:
        return None
    if re.search(NOT_SURE, words):
        return "not_sure"
    ambition = _ambition_in_clauses(words)
    if ambition is None and len(words.split()) <= 6:  # a short answer names the ambition itself
        ambition = _first_match(AMBITION_PATTERNS, words)
    return ambition


def read_profile(text: str | None) -> Profile:
    """All three facts from one message. "I'm a deputy head in a primary and want to become a
    head" -> Profile("deputy_head", "primary", "headship")."""
    words = _words(text)
    if not words:
        return Profile()
    role = _first_match(ROLE_PATTERNS, _without_aspirations(words))
    return Profile(role, parse_phase(text), _ambition_in_clauses(words))


def _words(text: str | None) -> str:
    """Lower-case words with typos corrected, clause breaks kept as '|'."""
    if not isinstance(text, str):
        return ""
    text = text[:MAX_TEXT].lower().replace("&", " and ").replace("\u2019", "'")
    text = re.sub(r"'", "", text)
    text = re.sub(r"[.,;:!?()]+", " | ", text)
    text = re.sub(r"[^a-z0-9| ]+", " ", text)
    return " ".join(_correct(word) for word in text.split())


@cache
def _correct(word: str) -> str:
    if len(word) < 5 or word in VOCABULARY or word in NEVER_CORRECT or not word.isalpha():
        return word
    limit = 1 if len(word) < 10 else 2
    close = extract(word, VOCABULARY, scorer=OSA.distance, score_cutoff=limit, limit=2)
    if not close or (len(close) == 2 and close[0][1] == close[1][1]):
        return word  # nothing close, or two equally close words: leave it
    return close[0][0]


def _clauses(words: str) -> list[str]:
    return [c for c in PHRASES_TO_CLAUSE.split(words) if c and not PHRASES_TO_CLAUSE.fullmatch(c)]


def _without_aspirations(words: str) -> str:
    """The words with every 'want to become ...' clause removed: what someone is, not wants."""
    kept = []
    for clause in _clauses(words):
        match = re.search(ASPIRE, clause)
        kept.append(clause[:match.start()] if match else clause)
    return " | ".join(kept)


# "i love maths and want to lead it across school": the subject named before the aspiration
SUBJECTS = frozenset({"maths", "literacy", "behaviour", "send", "early_years"})
SUBJECT_PATTERNS = tuple(pattern for pattern in AMBITION_PATTERNS if pattern[0] in SUBJECTS)
POINTS_BACK = re.compile(r"\b(lead|leading|run|running|teach|teaching|coordinate|do|develop)"
                         r" (it|that|this|them)\b")


def _ambition_in_clauses(words: str) -> str | None:
    before = ""
    for clause in _clauses(words):
        match = re.search(ASPIRE, clause)
        if match:
            found = _first_match(AMBITION_PATTERNS, clause[match.start():]) or _first_match(
                PROGRAMME_AMBITIONS, clause[match.start():])
            if found:
                return found
            if POINTS_BACK.search(clause[match.start():]):
                subject = _first_match(SUBJECT_PATTERNS, before + " " + clause[:match.start()])
                if subject:
                    return subject
        before += " " + clause
    return None


def _first_match(patterns: tuple[tuple[str, str], ...], words: str) -> str | None:
    return next((key for key, pattern in patterns if re.search(pattern, words)), None)
