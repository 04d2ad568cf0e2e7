"""The canonical values of what users tell us about themselves, shared by every layer.

The NLU model's synonyms (nlu_data/nlu/) normalise the `role` and `phase` entities to these
keys, the held-out test set is annotated with them, and the core's rules and parsers speak them.
Labels are what the assistant says back ("a deputy head").
"""

from __future__ import annotations

# role entity: what the person does now
ROLES: dict[str, str] = {
    "classroom_teacher": "a classroom teacher",
    "early_career_teacher": "an early career teacher",
    "head_of_department": "a head of department or subject lead",
    "key_stage_lead": "a key stage or phase lead",
    "head_of_year": "a head of year or pastoral lead",
    "middle_leader": "a middle leader",
    "senco": "a SENCO",
    "behaviour_lead": "a behaviour or pastoral lead",
    "literacy_lead": "a literacy, reading or English lead",
    "maths_lead": "a maths lead",
    "cpd_lead": "someone who develops other teachers (CPD lead, mentor or induction tutor)",
    "assistant_head": "an assistant head",
    "deputy_head": "a deputy head",
    "headteacher": "a headteacher",
    "new_headteacher": "a headteacher in your first years of headship",
    "head_of_school": "a head of school",
    "executive_head": "an executive head",
    "trust_ceo": "a trust CEO",
    "early_years_lead": "an early years leader",
}

# phase entity: the kind of school or setting
PHASES: dict[str, str] = {
    "primary": "primary",
    "secondary": "secondary",
    "early_years": "early years",
    "special": "special or alternative provision",
    "all_through": "all-through",
    "sixteen_to_nineteen": "16 to 19",
}
