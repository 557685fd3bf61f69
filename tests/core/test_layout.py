"""The package's shape: small modules, no import knots, a core on the stdlib alone.

Read from the source with `ast` (nothing is imported): an import inside a
function counts, since it runs; one under `if TYPE_CHECKING:` does not.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

PACKAGE = "streamer_tts"
ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 400

# Modules allowed over the limit for now, each at most its length here; one
# that is split must leave this list. Empty: every module is within the limit.
PENDING_SPLIT: dict[str, int] = {}


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(name: str, path: Path, *, type_only_too: bool = False) -> set[str]:
    """Every module `name` imports: ours by full name, others by top-level name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child) and not type_only_too:
                for other in child.orelse:
                    visit_node(other)
                continue
            visit_node(child)

    def visit_node(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = here[: len(here) - node.level + 1]
                base = ".".join([*up, *([node.module] if node.module else [])])
            subs = {f"{base}.{alias.name}" for alias in node.names}
            ours = subs & modules().keys()
            # `from pkg import sub` names the submodule, not the package's own code
            found.update(ours if ours == subs else {base, *ours})
        else:
            visit(node)

    visit(tree)
    return {m for m in found if m != name}


def runtime_graph() -> dict[str, set[str]]:
    return {
        name: {m for m in imported(name, path) if m in modules()}
        for name, path in modules().items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def _unit(module: str) -> str:
    """A module's package below streamer_tts (a top-level module is its own unit)."""
    return ".".join(module.split(".")[:2])


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_resolves_relative_imports(tmp_path: Path) -> None:
    path = ROOT / PACKAGE / "twitch_sim" / "server.py"
    found = imported("streamer_tts.twitch_sim.server", path)
    assert {"streamer_tts.twitch_sim.steps", "aiohttp"} <= found
    # type-only imports are skipped unless asked for
    script = ROOT / PACKAGE / "twitch_sim" / "steps.py"
    assert "streamer_tts.twitch_sim.server" not in imported("streamer_tts.twitch_sim.steps", script)
    assert "streamer_tts.twitch_sim.server" in imported(
        "streamer_tts.twitch_sim.steps", script, type_only_too=True
    )


def test_no_import_cycle_between_modules() -> None:
    assert cycles(runtime_graph()) == []


def test_no_import_cycle_between_packages() -> None:
    units: dict[str, set[str]] = {}
    for module, deps in runtime_graph().items():
        units.setdefault(_unit(module), set()).update(
            _unit(d) for d in deps if _unit(d) not in (_unit(module), PACKAGE)
        )
    assert cycles(units) == []


def test_core_imports_only_the_stdlib_and_itself() -> None:
    bad = {}
    for name, path in modules().items():
        if not name.startswith(f"{PACKAGE}.core"):
            continue
        outside = {
            m
            for m in imported(name, path, type_only_too=True)
            if not m.startswith(f"{PACKAGE}.core")
            and m.split(".")[0] not in sys.stdlib_module_names
        }
        if outside:
            bad[name] = sorted(outside)
    assert bad == {}


def test_no_module_over_400_lines() -> None:
    lengths = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in modules().values()
    }
    over = {p: n for p, n in lengths.items() if n > PENDING_SPLIT.get(p, MAX_LINES)}
    assert over == {}, f"split these by concern (at most {MAX_LINES} lines each)"
    done = [p for p in PENDING_SPLIT if lengths.get(p, 0) <= MAX_LINES]
    assert done == [], "no longer over the limit: take them off PENDING_SPLIT"


def _emitted_names(tree: ast.AST) -> list[ast.expr]:
    return [
        node.args[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "emit"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "logs"
        and node.args
    ]


def test_every_event_name_is_a_constant_of_logs() -> None:
    """`logs.emit(logs.NAME, ...)`: the names are a contract, listed in one place."""
    literal = []
    for name, path in modules().items():
        for arg in _emitted_names(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(arg, ast.Constant | ast.JoinedStr):
                literal.append(f"{name}:{arg.lineno}")
    assert literal == []
    assert _emitted_names(ast.parse('logs.emit("x.y", a=1)'))  # the reader sees a literal
