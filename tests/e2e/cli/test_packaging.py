"""`pip install limen` is the CLI and its SDK alone: no server package comes with it, and a
third-party plugin type-checks with mypy --strict against what was installed (py.typed).
The install runs in a fresh virtualenv, from a copy of this tree (the index or
PIP_FIND_LINKS provide the dependencies); `bench/cli_startup.py` measures `limen --help`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.live import REPO_ROOT

from . import acme_plugin
from .packages import pip_install, write_tree

SERVER_PACKAGES = {
    "flask",
    "sqlalchemy",
    "psycopg",
    "argon2-cffi",
    "granian",
    "fakeredis",
    "rq",
    "pydantic",
    "alembic",
    "redis",
    "authlib",
    "structlog",
}
SOURCES = ("pyproject.toml", "README.md", "cli_plugins", "webapp")


def run(*args: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    command = [str(a) for a in args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=600, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv with `pip install <this tree>` and nothing else: its bin dir."""
    root = tmp_path_factory.mktemp("lean")
    source = root / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in SOURCES:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    venv = root / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    pip_install(str(venv / "bin" / "python"), source)
    return venv / "bin"


def installed(bin_dir: Path) -> set[str]:
    listing = run(bin_dir / "python", "-m", "pip", "list", "--format", "json")
    return {p["name"].lower() for p in json.loads(listing.stdout)}


def test_the_cli_installs_without_any_server_package(lean):
    names = installed(lean)
    assert "limen" in names and {"click", "httpx", "keyring", "pluggy"} <= names
    assert names & SERVER_PACKAGES == set()
    help_ = run(lean / "limen", "--help")
    assert help_.returncode == 0 and "login" in help_.stdout, help_.stderr
    server = run(lean / "limen-server", "--help")
    assert server.returncode == 1 and "pip install 'limen[server]'" in server.stderr
    assert "Traceback" not in server.stderr
    docker = run(lean / "docker-credential-limen", "version")
    assert docker.returncode == 0, docker.stdout


def test_a_plugin_type_checks_strictly_and_loads_from_the_installed_cli(lean, tmp_path):
    source = write_tree(tmp_path / "acme", acme_plugin.FILES)
    mypy = run(
        Path(sys.executable).parent / "mypy",
        "--strict",
        "--no-incremental",
        "--python-executable",
        lean / "python",
        source / "limen_acme",
        cwd=tmp_path,
    )
    assert mypy.returncode == 0, mypy.stdout + mypy.stderr
    pip_install(str(lean / "python"), source, "--no-deps")
    env = {"PATH": str(lean), "LIMEN_CONFIG_DIR": str(tmp_path / "config")}
    providers = run(lean / "limen", "providers", "--json", env=env)
    rows = {p["name"]: p for p in json.loads(providers.stdout)["providers"]}
    assert rows["acme"]["source"] == "limen-acme"
