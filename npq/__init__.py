"""The NPQ assistant's core: the programme database and the domain logic.

Plain Python: imports neither Rasa nor Telegram. `actions/` (the Rasa action server) and `bot/`
(the Telegram front end) both build on it.
"""
