"""What a question asks about beyond its intent: "what's the pass mark for NPQSL?" is a question
about a programme (programme_info) and, specifically, about its assessment.

The NLU model says which journey a message belongs to; these patterns pick out the few specific
questions each journey answers from its own data (the assessment, what the qualification is
worth, the track record, when sessions run, which provider to choose, the pupil premium check,
the small-school grant). Pure: text in, a topic or None out.
"""

from __future__ import annotations

import re

MAX_TEXT = 500

# First match wins: the more specific topics come first ("is it worth it" is the track record,
# "what is it worth as a qualification" its value).
PATTERNS: tuple[tuple[str, str], ...] = (
    # a question about the TRN or URN itself, not a message that merely has them ready
    ("trn", r"\b((whats|wots|what|wot|wat)( s| is| does)? (a |an |my |the |mean by )?"
            r"(trn|teacher reference)|"
            r"trn (stand|mean)s?|(where|how) (do|can|would) i (find|get|look up|check) (a |my )?"
            r"(trn|teacher reference)|(don t|dont|do not|never) (have|had|know|got) (a |my |any )?"
            r"(trn|teacher reference)|(lost|forgot|forgotten|can t find|cant find) (my )?"
            r"(trn|teacher reference)|no trn|^trn$)"),
    ("urn", r"\b((whats|wots|what|wot|wat)( s| is| does)? (a |an |my |our |the )?(school s )?"
            r"(urn|unique reference)|urn (stand|mean)s?|(where|how) (do|can|would) i "
            r"(find|get|look up|check)"
            r" (a |my |our |the )?(school s )?(urn|unique reference)|(don t|dont|do not) (have|"
            r"know) (a |my |our |the )?(school s )?urn|^urn$)"),
    ("endorsement", r"\b(permission|endorse\w*|sign (it )?off|signed off|(my|the|our) "
                    r"(heads?|headteachers?|head teachers?|principals?|schools?|line managers?|"
                    r"bosse?s?|governors)( s)? (ok|okay|agreement|blessing|consent|support|say so|"
                    r"approv\w*|backing|says? no|(won t|doesn t|does not|will not) (let|agree|"
                    r"support|approve)|(has|have|needs?) to (agree|say yes|support|know|ok|okay|"
                    r"approve))|ask (my|the) (head|headteacher|head teacher|principal|school|"
                    r"line manager|boss)|without (my|the) (head|headteacher|school|line "
                    r"manager|boss)|"
                    r"heads? approval|approval (from|of) (my|the) "
                    r"(head|headteacher|school|line manager))\b"),
    ("prerequisite", r"\b(pre ?requisites?|entry requirements?|requirements? (to|for) (do|join|"
                     r"start|apply|get on)|what (qualifications?|experience) (do|would|will) (i|"
                     r"you|we) need|do (i|you) need (any|a|certain) (qualifications?|degree|"
                     r"experience)|need to have (done|had|got)|have to have (done|had))\b"),
    ("two_at_once", r"\b(two|2|both|more than one|multiple|several)( npqs?| courses?| programmes?|"
                    r" qualifications?| of them| ones)?( at (the )?(same|one) time| at once|"
                    r" simultaneously| together| in parallel| concurrently| back to back)\b|"
                    r"\b(do|take|study|start) \w+ (and|&) (the )?\w+ (at (the )?same time(?! as)|"
                    r"at once|simultaneously|concurrently|in parallel|together)\b"),
    ("small_school_grant", r"\b(targeted support|small schools?|grants?|supply cover|cover costs?"
                           r"|cover for supply)\b"),
    ("pupil_premium", r"\b(pupil premium|pp ?50|pp|top 50|top half|top fifty|disadvantaged)\b"),
    ("provider", r"\b(lead provider|providers?|who (runs|delivers|provides|teaches|accredits the "
                 r"course)|delivered by|run by|which organisation|which network|your network|"
                 r"your partnership|best practice network|outstanding leaders)\b"),
    ("track_record", r"\b(worth (it|doing|the (effort|time|money))|worthwhile|track record|"
                     r"success rates?|results|outcomes|promot\w*|get (a|my first) headship|"
                     r"become a head (after|sooner)|help (me )?(get|become|with my career)|"
                     r"career prospects|(is it|are they) any good)\b"),
    # what a hub or the course's provider decides case by case, with no answer in our data
    ("ask_your_hub", r"\b(defer\w*|postpone|put (it|my place) on hold|pause (it|the course|my "
                     r"course)|take a break|maternity|paternity|parental leave|sick leave|log ?in|"
                     r"password|learning platform|portal|(application|place) (was|has been|got) "
                     r"(rejected|declined|turned down|refused|unsuccessful)|(rejected|turned down|"
                     r"refused) my application|cohort size|group size|how (many|big)( people| "
                     r"participants| teachers| others)? (are |is )?(on|in) (each|a|the|my) "
                     r"(cohort|group)|how big (are|is) the (cohorts?|groups?)|who (are|is) the "
                     r"facilitators?|who (will|would) (teach|facilitate|run) (it|the sessions|"
                     r"us)|change (my )?(hub|cohort|provider)|switch (hub|cohort|provider)s?)\b"),
    ("qualification", r"\b(masters?|level 7|credits?|accredit\w*|certificates?|recognised|"
                      r"recognized|still valid|valid|expire|count (for|towards)|worth|"
                      r"what qualification|proper qualification|actual qualification|kudos)\b"),
    ("assessment", r"\b(assess\w*|exams?|pass marks?|pass rates?|pass|passing|fail\w*|resit\w*|"
                   r"re sit\w*|resubmi\w*|retake|withdraw\w*|drop out|dropping out|grades?|"
                   r"case study|open book|essay|word count|how many words|engagement)\b"),
    ("places", r"\b(places? (left|available|remaining|free)|spaces?|spots? left|any places|"
               r"how many places|full|fully booked|waiting list|availability)\b"),
    ("sessions", r"\b(hours? (a|per|each) week|how many hours|time commitment|how much time|"
                 r"(do|study|take) (it|the course|an npq|npqs?|this|them) part time|alongside "
                 r"(my |a )?(job|work|teaching|role)|while (working|"
                 r"teaching)|(with|on top of) (a |my )?full time (job|role|timetable)|"
                 r"workload|time consuming|how demanding|after school|twilight|evenings?|daytime|"
                 r"in the day|during the day|school "
                 r"hours|term time|face to face|in person|online|virtual|remote|zoom|sessions?|"
                 r"venue|residentials?|how is it delivered|delivered)\b"),
)


def plain_words(text: str | None, limit: int = MAX_TEXT) -> str:
    """Lower-case words and digits only, one space apart: what the cue patterns match."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", (text or "")[:limit].lower()).split())


def topic_of(text: str | None, among: frozenset[str] | None = None) -> str | None:
    """The specific topic a message asks about (one of `among`, when given), or None for a
    general question."""
    if not isinstance(text, str) or not text.strip():
        return None
    words = " ".join(re.sub(r"[^a-z0-9%]+", " ", text[:MAX_TEXT].lower()).split())
    return next((topic for topic, pattern in PATTERNS
                 if (among is None or topic in among) and re.search(pattern, words)), None)
