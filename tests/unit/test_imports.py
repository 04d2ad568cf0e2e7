"""How our packages may depend on each other, read from the source (every import counts: at the
top, inside a function, or only for type checkers):

    npq        the core: none of our other packages (and no framework, see test_project.py)
    ops        model operations and running the stack: npq, never bot or actions
    bot        Telegram and the terminal: npq and ops
    actions    Rasa's custom actions: npq
    rasa_components  our Rasa graph components (the engine environment): none of the others

and no import cycles among their modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("npq", "ops", "bot", "actions", "rasa_components")
MAY_IMPORT = {"npq": {"npq"}, "ops": {"npq", "ops"}, "bot": {"npq", "ops", "bot"},
              "actions": {"npq", "actions"}, "rasa_components": {"rasa_components"}}


def our_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of our packages."""
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported(module: str, path: Path, known: set[str]) -> set[str]:
    """Our modules that `module` imports. `from package import submodule` depends on the
    submodule only (the package's __init__ is already loaded by then)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package
                package = module.split(".") if path.name == "__init__.py" else \
                    module.split(".")[:-1]
                base = ".".join([*package[:len(package) - node.level + 1], *filter(None, [base])])
            submodules = {f"{base}.{alias.name}" for alias in node.names} & known
            found.update(submodules or {base})
    return (found & known) - {module}


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imported(name, path, set(modules)) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert {"npq.db", "npq.settings"} <= graph["npq.__main__"]  # at the top of a module
    assert "npq.geo.places" in graph["npq.geo"]  # from a package import a submodule
    assert "bot.context" in graph["bot.handlers"]


def test_no_import_cycles_among_our_modules() -> None:
    assert cycles(import_graph()) == []


def test_each_package_imports_only_the_packages_below_it() -> None:
    wrong = sorted(f"{module} imports {other}" for module, others in import_graph().items()
                   for other in others
                   if other.split(".")[0] not in MAY_IMPORT[module.split(".")[0]])
    assert wrong == []
