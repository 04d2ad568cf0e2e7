"""The action server starts: rasa-sdk registers every action in the package (an abstract base
that cannot name itself stopped the server once), and every custom action domain.yml lists is
there to run."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.action_server.conftest import DOMAIN


def test_every_domain_action_is_registered_by_the_action_server() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    custom = {name for name in DOMAIN["actions"]
              if name.startswith(("action_", "validate_")) and name != "action_listen"}
    assert custom - set(executor.actions) == set()
