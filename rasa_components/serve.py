"""`rasa` without JAX: Rasa's own command line, started the way ops/stack.py starts the servers

    python -m rasa_components.serve run --model ... (any `rasa` arguments)

TensorFlow 2.12 requires JAX and imports it at start-up for one thing only: converting models to
TensorFlow Lite (tensorflow/lite/python/util.py, in a try block that accepts its absence). Rasa
never converts to TFLite, yet importing JAX costs every Rasa server about 65 MB of memory
(TensorFlow's import goes from 534 to 469 MB RSS) and a tenth of a second of CPU. Marking `jax` as
not importable here keeps it out of the process; everything else is Rasa's own `main`.
"""

from __future__ import annotations

import sys

# Imported by TensorFlow only for TFLite conversion, which no Rasa command here performs.
UNUSED = ("jax",)


def without_unused_imports() -> None:
    """Make `import jax` raise ImportError in this process (a None entry in sys.modules does
    that), which TensorFlow's TFLite helpers already treat as "JAX not installed"."""
    for name in UNUSED:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def main() -> None:
    without_unused_imports()
    from rasa.__main__ import main as rasa_main  # after the above: Rasa's import brings TensorFlow

    rasa_main()


if __name__ == "__main__":
    main()
