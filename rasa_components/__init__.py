"""Our Rasa 3.6 graph components: the only code of ours that imports `rasa`, loaded by the
engine environment only (config.yml names them by module path; `rasa` runs from the project root,
which Rasa puts on sys.path). Tested with the engine's Python: make test-engine."""
