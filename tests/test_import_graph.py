"""The import graph of the four rooms, read from the source (every import: at the top, inside
functions, under TYPE_CHECKING), checked against docs/ARCHITECTURE.md:

- imports flow one way, cli -> gateway -> cloud -> translator: no room imports a room above it;
- always `protoshift.<room>`: never a bare top-level `cli`, `cloud`, `translator`, nor a relative import;
- no import cycle between modules;
- translator does no I/O: no httpx, rich, typer, no module that talks to files, sockets, processes
  or the terminal, no open/print/input;
- no module reads the environment at import time (the CLI runs in-process in tests, and a value
  read once at import would leak from one run into the next: tests/cli_runner.py).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("translator", "cloud", "gateway", "cli")  # bottom to top: a room may import only the rooms before it
LEVEL = {room: level for level, room in enumerate(ROOMS)}

# Modules whose job is I/O: none of them belongs in the translator (data in, data out).
IO_MODULES = frozenset({
    "httpx", "httpcore", "h11", "h2", "anyio", "sniffio", "requests", "aiohttp", "urllib3",
    "rich", "typer", "click", "pygments", "markdown_it", "readline", "curses",
    "os", "sys", "io", "pathlib", "shutil", "tempfile", "glob", "fcntl", "mmap", "sqlite3",
    "socket", "ssl", "select", "selectors", "asyncio", "http", "urllib", "subprocess", "signal",
    "threading", "multiprocessing", "concurrent", "logging",
})  # fmt: skip
IO_BUILTINS = frozenset({"open", "print", "input"})

# Cycles tolerated for a while (none today), each to be broken: name -> its modules. A new cycle, or a
# known one that grows, fails test_no_import_cycle; once a known one is gone its
# test_the_known_cycle_is_broken passes, which fails the suite (strict xfail) until its entry is removed.
KNOWN_CYCLES: dict[str, frozenset[str]] = {}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # what it imports, absolute (a module, or a package's name)
    path: str  # the importing file, relative to the root
    line: int
    relative: bool

    def __str__(self) -> str:
        return f"{self.module} imports {self.target} ({self.path}:{self.line})"


@cache
def modules(root: Path = ROOT) -> dict[str, Path]:
    """protoshift.<room>.<...> -> source file, for every module of the rooms."""
    found = {}
    for room in ROOMS:
        for path in sorted((root / room).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(("protoshift", *parts))] = path
    return found


@cache
def imports(root: Path = ROOT) -> tuple[Import, ...]:
    known = modules(root)
    return tuple(found for module, path in known.items() for found in _imports_of(module, path, root, known))


def _imports_of(module: str, path: Path, root: Path, known: dict[str, Path]) -> Iterator[Import]:
    where = str(path.relative_to(root))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), where)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, where, node.lineno, relative=False)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"  # `from package import module` imports the module
                target = submodule if submodule in known else base
                yield Import(module, target, where, node.lineno, relative=bool(node.level))


def _room(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "protoshift" and parts[1] in LEVEL else None


# -- what each rule finds ----------------------------------------------------------------------------


def upward_imports(root: Path = ROOT) -> list[str]:
    return [
        str(found)
        for found in imports(root)
        if (target := _room(found.target)) is not None and LEVEL[target] > LEVEL[_room(found.module) or "cli"]
    ]


def bare_room_imports(root: Path = ROOT) -> list[str]:
    return [str(found) for found in imports(root) if found.target.split(".")[0] in LEVEL and not found.relative]


def relative_imports(root: Path = ROOT) -> list[str]:
    return [str(found) for found in imports(root) if found.relative]


def cycles(root: Path = ROOT) -> list[frozenset[str]]:
    """Strongly connected components of the module graph with more than one module (Tarjan)."""
    known = modules(root)
    graph: dict[str, set[str]] = {name: set() for name in known}
    for found in imports(root):
        if found.target in known and found.target != found.module:
            graph[found.module].add(found.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def describe(cycle: frozenset[str], root: Path = ROOT) -> str:
    edges = sorted({str(found) for found in imports(root) if found.module in cycle and found.target in cycle})
    return "a cycle between " + ", ".join(sorted(cycle)) + ":\n  " + "\n  ".join(edges)


def translator_io(root: Path = ROOT) -> list[str]:
    io_imports = [
        str(found)
        for found in imports(root)
        if _room(found.module) == "translator" and found.target.split(".")[0] in IO_MODULES
    ]
    io_calls = [
        f"{name} calls {node.func.id}() ({path.relative_to(root)}:{node.lineno})"
        for name, path in modules(root).items()
        if _room(name) == "translator"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS
    ]
    return io_imports + io_calls


class _ImportTime(ast.NodeVisitor):
    """The code that runs when a module is imported: everything but function bodies (their
    decorators and default values do run)."""

    def __init__(self) -> None:
        self.reads: list[int] = []

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if child is not None:
                self.visit(child)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> None:
        for child in [*node.args.defaults, *node.args.kw_defaults]:
            if child is not None:
                self.visit(child)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in ("environ", "environb", "getenv") and isinstance(node.value, ast.Name):
            self.reads.append(node.lineno)
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("environ", "getenv"):  # from os import environ
            self.reads.append(node.lineno)


def environment_read_at_import(root: Path = ROOT) -> list[str]:
    found = []
    for path in modules(root).values():
        visitor = _ImportTime()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        found += [f"{path.relative_to(root)}:{line}" for line in visitor.reads]
    return found


# -- the rules, on protoshift ------------------------------------------------------------------------


def test_the_rooms_are_all_there() -> None:
    assert {_room(name) for name in modules()} == set(ROOMS)
    assert len(modules()) > 30 and len(imports()) > 100  # the walk sees the code, not an empty tree


def test_no_room_imports_a_room_above_it() -> None:
    assert upward_imports() == [], "imports flow cli -> gateway -> cloud -> translator only:\n" + "\n".join(
        upward_imports()
    )


def test_imports_name_protoshift_rooms_absolutely() -> None:
    assert bare_room_imports() == [], (
        "top-level cli/cloud/translator do not exist once installed: use protoshift.*\n"
        + "\n".join(bare_room_imports())
    )
    assert relative_imports() == [], "absolute imports everywhere (protoshift.<room>...):\n" + "\n".join(
        relative_imports()
    )


def test_no_import_cycle() -> None:
    new = [cycle for cycle in cycles() if not any(cycle <= known for known in KNOWN_CYCLES.values())]
    assert new == [], "\n".join(describe(cycle) for cycle in new)


@pytest.mark.xfail(strict=True, reason="a known import cycle (KNOWN_CYCLES): when this passes, remove its entry")
@pytest.mark.parametrize("name", sorted(KNOWN_CYCLES))
def test_the_known_cycle_is_broken(name: str) -> None:
    remaining = [cycle for cycle in cycles() if cycle & KNOWN_CYCLES[name]]
    assert remaining == [], "\n".join(describe(cycle) for cycle in remaining)


def test_translator_does_no_io() -> None:
    assert translator_io() == [], "translator: data in, data out, no I/O:\n" + "\n".join(translator_io())


def test_no_module_reads_the_environment_at_import_time() -> None:
    found = environment_read_at_import()
    assert found == [], "read the environment when called, not when imported:\n" + "\n".join(found)


# -- the rules find what they look for ---------------------------------------------------------------


def test_each_rule_finds_a_planted_breach(tmp_path: Path) -> None:
    files = {
        "translator/__init__.py": "",
        "translator/pure.py": "import json\nfrom protoshift.translator import tables\n",
        "translator/tables.py": "def f():\n    from protoshift.cloud import errors  # upward, in a function\n",
        "translator/noisy.py": "import httpx\n\ndef show(x):\n    print(x)\n",
        "cloud/__init__.py": "",
        "cloud/errors.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from protoshift.cli import exits\n",
        "cloud/bare.py": "from translator import tables\nimport cli.main\n",
        "cloud/rel.py": "from . import errors\nfrom .errors import X\n",
        "cli/__init__.py": "",
        "cli/exits.py": "import os\nDEBUG = os.environ.get('X')\n",
        "cli/a.py": "def f(x=os.getenv('Y')):\n    import os\n    return os.environ\n",
        "cli/chat/__init__.py": "",
        "cli/chat/one.py": "from protoshift.cli.chat import two\n",
        "cli/chat/two.py": "def f():\n    from protoshift.cli.chat.one import g\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert upward_imports(tmp_path) == [
        "protoshift.translator.tables imports protoshift.cloud.errors (translator/tables.py:2)",
        "protoshift.cloud.errors imports protoshift.cli.exits (cloud/errors.py:3)",
    ]
    assert bare_room_imports(tmp_path) == [
        "protoshift.cloud.bare imports translator (cloud/bare.py:1)",
        "protoshift.cloud.bare imports cli.main (cloud/bare.py:2)",
    ]
    assert relative_imports(tmp_path) == [
        "protoshift.cloud.rel imports protoshift.cloud.errors (cloud/rel.py:1)",
        "protoshift.cloud.rel imports protoshift.cloud.errors (cloud/rel.py:2)",
    ]
    assert cycles(tmp_path) == [frozenset({"protoshift.cli.chat.one", "protoshift.cli.chat.two"})]
    assert translator_io(tmp_path) == [
        "protoshift.translator.noisy imports httpx (translator/noisy.py:1)",
        "protoshift.translator.noisy calls print() (translator/noisy.py:4)",
    ]
    assert environment_read_at_import(tmp_path) == ["cli/a.py:1", "cli/exits.py:2"]
