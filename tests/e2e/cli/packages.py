"""Third-party `limen` plugins for the tests, installed the way installers leave them: modules
plus a ``<name>-<version>.dist-info`` with METADATA and entry_points.txt (what importlib.metadata
and so `limen` read), or built and installed by pip (``pip_install``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent


def install_dist(
    site: Path, name: str, modules: dict[str, str], entry_points: dict[str, str]
) -> Path:
    """Write distribution ``name`` 0.1.0 into ``site`` (a directory for PYTHONPATH)."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(dedent(source))
    info = site / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[limen.plugins]\n{lines}")
    (info / "RECORD").write_text("")
    return site


def pip_install(python: str, source: Path, *options: str) -> None:
    """``pip install`` a source tree (offline first with the venv's setuptools, else with
    pip's isolated build from the index)."""

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        pip = [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        return subprocess.run(
            [*pip, *options, *extra, str(source)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    done = run("--no-build-isolation", "--no-index")
    if done.returncode != 0:
        done = run()
    assert done.returncode == 0, done.stdout + done.stderr


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip())
    return root


PYTHON = sys.executable
