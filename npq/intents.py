"""The intents of domain.yml, grouped by what a message with each one asks of the assistant.

One source for the groups the bot, the actions and the tests use (tests/unit/test_intents.py
checks it against domain.yml): add a new intent to domain.yml and to exactly one group here.
"""

from __future__ import annotations

# Greetings and questions about the assistant itself.
SMALL_TALK = ("greet", "goodbye", "thank", "bot_challenge", "help")
# What the assistant is for: questions it answers from the programme data, and requests it acts
# on. Their answers carry thumbs up/down for review.
JOURNEYS = ("recommend_npq", "programme_info", "find_hub", "ask_deadlines", "ask_funding",
            "ask_eligibility", "how_to_apply", "register_interest", "subscribe_reminders",
            "unsubscribe", "become_partner", "partner_requirements", "partner_benefits",
            "partner_fit_check")
# The journeys of schools asking about partnership: what they say of themselves there is about
# the school, and "how do we apply?" after them means applying to become a partner.
PARTNERSHIP = frozenset({"become_partner", "partner_requirements", "partner_benefits",
                         "partner_fit_check"})
# They end what the assistant was doing: a person takes over, everything held is deleted, or the
# user wants to stop what they started ("never mind", "forget it", "skip this").
ENDINGS = ("talk_to_human", "forget_me", "stop")
# Replies to what the assistant asked: yes, no, or the information asked for.
ANSWERS = ("affirm", "deny", "inform")
OUT_OF_SCOPE = "out_of_scope"
# Not in domain.yml: the FallbackClassifier's intent for a message the model is unsure about.
FALLBACK = "nlu_fallback"

INTENTS = (*SMALL_TALK, *JOURNEYS, *ENDINGS, *ANSWERS, OUT_OF_SCOPE)
# Inside a form, a message with one of these is a question of its own (answered, then the form
# asks again), never an answer to the form's question.
ASKS_SOMETHING_ELSE = frozenset((*SMALL_TALK, *JOURNEYS, *ENDINGS))
# The reply to one of these is not an answer to a question: no thumbs up/down under it.
NO_FEEDBACK = frozenset((*SMALL_TALK, *ENDINGS, *ANSWERS, OUT_OF_SCOPE, FALLBACK))
