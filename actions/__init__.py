"""Rasa custom actions: thin adapters from slots and entities to the `npq` core.

Run with `python -m actions` (make run does): rasa-sdk on 127.0.0.1 unless ACTION_SERVER_LISTEN
says otherwise (actions/__main__.py). rasa-sdk imports every module
here and instantiates every Action subclass with no arguments, so nothing runs at import.
"""
