"""The rules of the house (docs/architecture.md, "Who may import whom"), checked on the code.

Every import counts, including those inside functions: a circle hidden in a function body is
still a circle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Floors, bottom up. A module may import its own floor and the floors below it, never above.
FOUNDATION = ("webapp.models", "webapp.settings", "webapp.connections")
CORE = ("webapp.identity", "webapp.authz")
# The job runtime: plain SQLAlchemy, Redis, settings and the core; its CLI is composition.
JOBS = ("webapp.jobs",)
GLUE = (
    "webapp.extensions",
    "webapp.http",
    "webapp.problems",
    "webapp.errors",
    "webapp.logs",
    "webapp.security",
    "webapp.ratelimits",
    "webapp.schemas",
    "webapp.openapi",
    "webapp.browser",
    "webapp.handoff",
    "webapp.transactions",
    "webapp.inputs",
    "webapp.scope_text",
    "webapp.upstream",
    "webapp.diagnostics",
    "webapp.bootstrap",
    "webapp.stepup",
)
BLUEPRINTS = (
    "webapp.api",
    "webapp.auth",
    "webapp.oauth",
    "webapp.portal",
    "webapp.health",
    "webapp.authzen",
)
COMPOSITION = (
    "webapp",  # the package itself only (its lazy create_app), not everything under it
    "webapp.factory",
    "webapp.entry",
    "webapp.devserver",
    "webapp.cli",
    "webapp.jobs.commands",
    "webapp.jobs.__main__",
)
FLOORS = (FOUNDATION, CORE, JOBS, GLUE, BLUEPRINTS, COMPOSITION)


def module_names() -> dict[str, Path]:
    found = {}
    for package in ("webapp", "cli_plugins"):
        for path in (ROOT / package).rglob("*.py"):
            if "examples" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = module_names()


def _owner(target: str) -> str | None:
    while target not in MODULES and "." in target:
        target = target.rsplit(".", 1)[0]
    return target if target in MODULES else None


def imports_of(name: str) -> set[str]:
    """Every webapp/cli_plugins module ``name`` imports, wherever in the file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            named = [f"{base}.{alias.name}" for alias in node.names]
            # ``from pkg import module`` imports the module; ``from pkg import name``, pkg.
            targets = [t if t in MODULES else base for t in named]
        for target in targets:
            owner = _owner(target)
            if owner and owner != name:
                found.add(owner)
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def floor_of(name: str) -> int | None:
    best: tuple[int, int] | None = None
    for level, floor in enumerate(FLOORS):
        for prefix in floor:
            matches = name == prefix or (prefix != "webapp" and name.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > best[1]):
                best = (level, len(prefix))
    return best[0] if best else None


def blueprint_of(name: str) -> str | None:
    return next((b for b in BLUEPRINTS if name == b or name.startswith(b + ".")), None)


def test_every_server_module_has_a_floor():
    unplaced = [n for n in MODULES if n.startswith("webapp") and floor_of(n) is None]
    assert not unplaced, f"add these modules to a floor in this test and the docs: {unplaced}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("webapp")))
def test_imports_go_down_never_up(name):
    mine = floor_of(name)
    assert mine is not None
    upward = sorted(t for t in GRAPH[name] if t.startswith("webapp") and floor_of(t) > mine)
    assert not upward, f"{name} (floor {mine}) imports a higher floor: {upward}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if blueprint_of(n)))
def test_blueprints_do_not_import_each_other(name):
    others = sorted(
        t for t in GRAPH[name] if blueprint_of(t) and blueprint_of(t) != blueprint_of(name)
    )
    assert not others, f"{name} imports another blueprint: {others}; move the shared part down"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("cli_plugins")))
def test_the_cli_never_imports_the_server(name):
    assert not [t for t in GRAPH[name] if t.startswith("webapp")]


def test_no_import_circles():
    # A blueprint's modules import ``bp`` from their own package: that edge is the pattern.
    def edges(name: str) -> set[str]:
        return {t for t in GRAPH[name] if not (name.startswith(t + ".") and t in BLUEPRINTS)}

    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for name in MODULES:
        if name not in index:
            visit(name)
    assert not circles, f"import circles: {circles}"


WEB_FRAMEWORK = ("flask", "flask_sqlalchemy", "flask_limiter", "flask_wtf", "werkzeug")


def _web_modules_loaded_by(*modules: str) -> list[str]:
    """The web-framework modules a fresh interpreter has loaded after importing ``modules``."""
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"web = sorted(m for m in sys.modules if m.split('.')[0] in {WEB_FRAMEWORK!r})\n"
        "print(','.join(web))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_importing_the_core_loads_no_web_framework():
    assert _web_modules_loaded_by("webapp.identity", "webapp.settings", "webapp.models") == []


def test_importing_the_job_runtime_loads_no_web_framework():
    runtime = sorted(
        name
        for name in MODULES
        if floor_of(name) == FLOORS.index(JOBS) and name.startswith("webapp.jobs")
    )
    assert "webapp.jobs.worker" in runtime and "webapp.jobs.commands" not in runtime
    assert _web_modules_loaded_by(*runtime, "webapp.connections") == []


def test_the_web_framework_check_sees_flask():
    # The two tests above would pass on an empty answer: this one shows the probe detects.
    assert "flask" in _web_modules_loaded_by("webapp.extensions")
