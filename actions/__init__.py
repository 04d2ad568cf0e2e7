"""Rasa custom actions: thin adapters from slots and entities to the `npq` core.

Run with `python -m rasa_sdk --actions actions` (make run does). rasa-sdk imports every module
here and instantiates every Action subclass with no arguments, so nothing runs at import.
"""
