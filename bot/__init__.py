"""The Telegram front end (python-telegram-bot 22) and a terminal chat, both talking to Rasa."""
