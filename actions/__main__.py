"""The action server, on loopback unless told otherwise:

    python -m actions [--port 5055]

rasa-sdk listens on every interface (0.0.0.0) unless SANIC_HOST says otherwise, and the action
server has no authentication: anyone who reaches it can run any action for any conversation. So
this entry point listens on ACTION_SERVER_LISTEN (default 127.0.0.1), then runs rasa-sdk with
the actions in this package. Only set ACTION_SERVER_LISTEN to another address on a private
network the Rasa servers share (see the README's "Running at scale").

rasa-sdk imports every module of this package to find the actions: nothing here runs on import.
"""

from __future__ import annotations

import os
import sys

LOOPBACK = "127.0.0.1"


def arguments(argv: list[str]) -> list[str]:
    """rasa-sdk's arguments: this package's actions unless others are named."""
    return argv if "--actions" in argv else ["--actions", "actions", *argv]


def main() -> None:
    os.environ["SANIC_HOST"] = os.environ.get("ACTION_SERVER_LISTEN") or LOOPBACK
    from rasa_sdk.__main__ import main as rasa_sdk_main  # after SANIC_HOST is set

    sys.argv[1:] = arguments(sys.argv[1:])
    rasa_sdk_main()


if __name__ == "__main__":
    main()
