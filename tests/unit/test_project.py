"""Cheap checks that keep the pieces in agreement: domain, training data, actions, boundaries,
and the set-up scripts' messages."""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Action

import actions
from ops.stack import StackError, check_port_free

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
NLU_FILES = sorted((ROOT / "nlu_data").rglob("*.yml"))
ENTITY = re.compile(r"\]\{\"entity\":\s*\"(\w+)\"|\]\((\w+)\)")


def nlu_items(key: str) -> list[dict]:
    items = []
    for path in NLU_FILES:
        document = yaml.safe_load(path.read_text()) or {}
        items.extend(document.get(key) or [])
    return items


def action_classes() -> list[type[Action]]:
    """Every concrete Action rasa-sdk would register from actions/ (it imports every module)."""
    modules = [importlib.import_module(f"actions.{m.name}")
               for m in pkgutil.iter_modules(actions.__path__)]
    found = {cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
             if issubclass(cls, Action) and cls.__module__.startswith("actions.")
             and not inspect.isabstract(cls)}
    return sorted(found, key=lambda cls: cls.__name__)


def test_every_domain_action_has_an_action_class_and_back() -> None:
    classes = action_classes()
    names = [cls().name() for cls in classes]
    assert sorted(names) == sorted(DOMAIN["actions"])
    for cls in classes:  # the naming contract: ActionFindHub <-> action_find_hub
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()
        assert snake == cls().name()


def test_training_data_uses_exactly_the_domain_intents_and_entities() -> None:
    intents = {item["intent"] for item in nlu_items("nlu") if "intent" in item}
    assert intents == set(DOMAIN["intents"])
    annotated = set()
    for item in nlu_items("nlu"):
        for match in ENTITY.finditer(item.get("examples", "")):
            annotated.add(match.group(1) or match.group(2))
    assert annotated <= set(DOMAIN["entities"])
    assert {"npq", "location", "postcode"} <= annotated


def test_rules_use_only_known_actions_and_responses() -> None:
    known = (set(DOMAIN["actions"]) | set(DOMAIN.get("responses") or {}) | set(DOMAIN["forms"])
             | {"action_listen"})
    for rule in nlu_items("rules"):
        for step in rule["steps"]:
            if "action" in step:
                assert step["action"] in known, rule["rule"]
            for option in step.get("or", []):
                assert option.get("intent") in DOMAIN["intents"], rule["rule"]


def test_every_form_question_is_asked_by_a_custom_action() -> None:
    """domain.yml has no responses: `rasa data validate` warns about every response that no
    story or rule uses (tests/e2e/test_validate_data.py), and ours are all said by custom
    actions, from actions/replies.yml. So each form asks for a slot with action_ask_<slot>."""
    assert not DOMAIN.get("responses")
    for form in DOMAIN["forms"].values():
        for slot in form["required_slots"]:
            assert f"action_ask_{slot}" in DOMAIN["actions"]


def test_the_actions_say_exactly_the_fixed_replies_there_are() -> None:
    from actions.small_talk import REPLIED_BY_NAME
    from actions.support import AskInFixedWords, replies

    said = {"help", *REPLIED_BY_NAME}  # action_small_talk: the intent's reply, else help
    for path in (ROOT / "actions").glob("*.py"):
        said.update(re.findall(r"say\(dispatcher, \"(\w+)\"[,)]", path.read_text()))
    said.update(cls().name().removeprefix("action_") for cls in action_classes()
                if issubclass(cls, AskInFixedWords))
    assert said == set(replies())
    for name, reply in replies().items():  # the shape of a domain response, with defaults
        assert set(reply) <= {"text", "buttons", "custom", "defaults"}, name
        assert reply["text"].format(**reply.get("defaults") or {}).strip(), name
        for button in reply.get("buttons") or []:
            assert set(button) == {"title", "payload"} and button["payload"].startswith("/")
        assert isinstance(reply.get("custom", {}), dict), name


def test_synonyms_map_to_programme_codes() -> None:
    catalogue = yaml.safe_load((ROOT / "data/catalogue/programmes.yaml").read_text())
    codes = {p["code"] for p in catalogue["programmes"]}
    for item in nlu_items("nlu"):
        if "synonym" in item:
            assert item["synonym"] in codes


def test_our_code_never_imports_rasa_and_the_core_imports_no_framework() -> None:
    probe = (
        "import sys, pkgutil, importlib, npq;"
        "[importlib.import_module(m.name) for m in pkgutil.walk_packages(npq.__path__, 'npq.')];"
        "assert not [m for m in sys.modules"
        " if m.split('.')[0] in ('rasa_sdk', 'telegram', 'rasa')];"
        "import bot.app, bot.terminal;"
        "[importlib.import_module(f'actions.{m.name}') for m in pkgutil.iter_modules(['actions'])];"
        "assert 'rasa' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", probe], cwd=ROOT, check=True)


def test_a_port_in_use_is_reported_clearly() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=rf"Port {port} on 127.0.0.1, needed for the Rasa"):
            check_port_free(port, "Rasa server")


def test_missing_python_310_names_what_to_install(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([str(ROOT / "scripts/find-python310")], env=env, capture_output=True,
                            text=True)
    if result.returncode == 0:  # this machine has a system 3.10: the message cannot show
        assert "3.10" in subprocess.run([result.stdout.strip(), "--version"], capture_output=True,
                                        text=True).stdout
        return
    assert result.returncode == 1
    assert "Python 3.10 was not found" in result.stderr
    assert "pyenv install 3.10" in result.stderr and "PYTHON310=" in result.stderr


def test_find_python_honours_an_explicit_interpreter() -> None:
    result = subprocess.run([str(ROOT / "scripts/find-python310")], capture_output=True, text=True,
                            env={**os.environ, "PYTHON310": sys.executable})
    assert result.returncode == 0 and result.stdout.strip() == sys.executable


def test_endpoint_variables_are_plain_scalars_rasa_substitutes() -> None:
    """Rasa expands ${VAR} only in unquoted YAML scalars; a quoted one reaches it literally."""
    def scalars(node: yaml.Node) -> list[yaml.ScalarNode]:
        if isinstance(node, yaml.ScalarNode):
            return [node]
        children = node.value if isinstance(node, yaml.SequenceNode) else [
            n for pair in node.value for n in pair]
        return [s for child in children for s in scalars(child)]

    for name in ("endpoints.yml", "credentials.yml"):
        document = yaml.compose((ROOT / name).read_text())
        if document is None:
            continue
        for scalar in scalars(document):
            if "${" in scalar.value:
                assert scalar.style is None, f"{name}: quote-free {scalar.value} needed"


def test_generated_form_rules_are_up_to_date() -> None:
    from ops import form_rules

    assert form_rules.TARGET.read_text() == form_rules.expected(), (
        "nlu_data/rules/forms.yml is out of date: run `.venv/bin/python -m ops.form_rules`")
    generated = yaml.safe_load(form_rules.TARGET.read_text())["rules"]
    forms = set(DOMAIN["forms"])
    assert {r["condition"][0]["active_loop"] for r in generated} == forms
    assert any(r["steps"][1] == {"action": "action_find_hub"} for r in generated)
    assert not any(r["steps"][1]["action"] in form_rules.ENDING_ACTIONS for r in generated)


SETTING_READ = re.compile(
    r"(?:environ\.get|env\.get|getenv|read\.[a-z_]+)\(\s*\"([A-Z][A-Z0-9_]+)\"")


def settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for folder in ("npq", "bot", "ops", "actions"):
        for path in (ROOT / folder).rglob("*.py"):
            names.update(SETTING_READ.findall(path.read_text()))
    return names


def test_every_setting_the_code_reads_is_documented() -> None:
    names = settings_read_by_the_code()
    assert {"TELEGRAM_BOT_TOKEN", "STAFF_USER_IDS", "DATABASE_URL"} <= names  # the scan works
    table = {line.split("`")[1] for line in (ROOT / "README.md").read_text().splitlines()
             if line.startswith("| `")}
    example = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(),
                             re.MULTILINE))
    assert sorted(names - table) == [], "add them to README's configuration table"
    assert sorted(names - example) == [], "add them to .env.example"


def test_the_catalogue_readme_says_where_each_files_facts_come_from() -> None:
    """Regression: data/catalogue/README.md cited a "Data sources" section that did not exist."""
    readme = (ROOT / "data/catalogue/README.md").read_text()
    assert "\n## Data sources\n" in readme
    sources = readme.split("\n## Data sources\n", 1)[1]
    for name in ("programmes.yaml", "funding_rules.yaml", "cohorts.csv", "hubs.csv",
                 "partner.yaml", "network.yaml"):
        assert f"| `{name}` |" in sources, name
