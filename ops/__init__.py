"""Model operations and running the stack: everything around the Rasa engine that is not the
conversation itself.

Training the model when its inputs change, measuring it on the held-out messages, the quality
gate that promotes or refuses a retrained model (and rolls back), writing what staff labelled
into the training data, the Rasa server and action server as child processes, the front that
swaps models without a pause, and `make run`'s supervisor. The bot imports this package for the
staff commands; this package imports neither the bot nor the actions (tests/unit/test_imports.py).
Each command-line entry point is `python -m ops.<module>` (the Makefile names them).
"""
