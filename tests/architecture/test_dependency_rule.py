"""The dependency rule of DESIGN.md, checked on the source rather than hoped for.

dialogs <- storage <- konsulta (the services) <- {outreach, review} <- bot, with the
emulator a tool on its own; nothing imports bot; the services know no bot or web
framework; python-telegram-bot stays in its adapter (bot/ptb/); SQL is written in
storage/ only (no other package imports SQLAlchemy or reaches a unit of work's
session); and no module takes part in an import cycle, counting every import: those
inside functions and under TYPE_CHECKING too, so a cycle cannot hide behind a lazy import.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Which of the project's packages each package may import.
ALLOWED: dict[str, set[str]] = {
    "dialogs": set(),
    "storage": {"dialogs"},
    "konsulta": {"dialogs", "storage"},
    "outreach": {"konsulta", "dialogs", "storage"},
    "review": {"konsulta", "dialogs", "storage"},
    "emulator": set(),
    "bot": {"konsulta", "dialogs", "storage", "outreach", "review", "emulator"},
}

#: Outside libraries a package must not import (the frameworks stay at the edge).
FORBIDDEN_LIBRARIES: dict[str, set[str]] = {
    "dialogs": {"aiogram", "telegram", "sqlalchemy", "starlette", "aiohttp", "apscheduler"},
    "storage": {"aiogram", "telegram", "starlette", "aiohttp", "apscheduler"},
    "konsulta": {
        "aiogram",
        "telegram",
        "starlette",
        "aiohttp",
        "apscheduler",
        "uvicorn",
        "sqlalchemy",
    },
    "outreach": {"aiogram", "telegram", "starlette", "sqlalchemy"},
    "review": {"telegram", "apscheduler", "sqlalchemy"},
    "bot": {"sqlalchemy"},
}

#: Outside libraries only one part of the project may import (each adapter keeps its
#: framework to itself): python-telegram-bot lives in bot/ptb/ and nowhere else.
LIBRARY_HOMES: dict[str, str] = {"telegram": "bot.ptb"}


def outside_its_home(module: str, library: str) -> bool:
    home = LIBRARY_HOMES.get(library)
    return home is not None and module != home and not module.startswith(home + ".")


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in ALLOWED:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported(module: str, path: Path, known: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every module name `module` imports, wherever in the file the import stands.
    `from package import module` names the module, not the package's `__init__`."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor if is_package else anchor[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = [f"{base}.{alias.name}" for alias in node.names]
            if not any(name in known for name in submodules):
                yield base
            yield from submodules


def project_graph() -> dict[str, set[str]]:
    known = modules()
    names = frozenset(known)
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        graph[module] = {name for name in imported(module, path, names) if name in known}
        graph[module].discard(module)
    return graph


def test_every_package_imports_only_the_layers_beneath_it() -> None:
    broken = []
    for module, path in modules().items():
        package = module.split(".")[0]
        for name in set(imported(module, path)):
            target = name.split(".")[0]
            if target in ALLOWED and target != package and target not in ALLOWED[package]:
                broken.append(f"{module} imports {name}")
            if target in FORBIDDEN_LIBRARIES.get(package, set()):
                broken.append(f"{module} imports the library {name}")
            elif outside_its_home(module, target):
                broken.append(f"{module} imports {name}, which belongs in {LIBRARY_HOMES[target]}")
    assert broken == []


def session_reaches(path: Path) -> Iterator[str]:
    """Every `<unit of work>.session` (or `._session`) in a file, as written."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in {"session", "_session"}:
            owner = ast.unparse(node.value)
            if owner == "uow" or owner.endswith((".uow", "_uow")):
                yield f"{ast.unparse(node)} on line {node.lineno}"


def test_only_storage_reaches_the_session_of_a_unit_of_work() -> None:
    """SQL is written in storage/: the rest goes through repositories, views
    (`uow.read`) and the unit of work's few row operations, never its session."""
    broken = [
        f"{module}: {reach}"
        for module, path in modules().items()
        if module.split(".")[0] != "storage"
        for reach in session_reaches(path)
    ]
    assert broken == []


def test_the_rule_would_catch_a_handler_that_writes_sql(tmp_path: Path) -> None:
    path = tmp_path / "pages.py"
    path.write_text("async def f(uow):\n    await uow.session.execute(query)\n")
    assert list(session_reaches(path)) == ["uow.session on line 2"]


def test_no_module_takes_part_in_an_import_cycle() -> None:
    graph = project_graph()
    # Tarjan's strongly connected components: any component of two or more is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_rule_would_catch_a_service_that_imports_the_adapter(tmp_path: Path) -> None:
    """The checker itself works: an import upward is reported."""
    path = tmp_path / "conversations.py"
    path.write_text("def f():\n    from bot.telegram import runtime\n")
    assert "bot.telegram.runtime" in set(imported("konsulta.conversations", path))


def test_python_telegram_bot_stays_in_its_adapter() -> None:
    assert not outside_its_home("bot.ptb.citizens", "telegram")
    assert outside_its_home("bot.telegram.runtime", "telegram")
    assert outside_its_home("bot.ptbx", "telegram")
    assert not outside_its_home("bot.telegram.runtime", "aiogram")


def test_every_test_module_has_its_own_name() -> None:
    """pytest imports test modules by their base name (the folders are not packages):
    two `test_consents.py` in two folders stop the whole suite at collection."""
    tests = Path(__file__).resolve().parents[1]
    names = Counter(path.name for path in tests.rglob("test_*.py"))
    assert [name for name, n in names.items() if n > 1] == []
