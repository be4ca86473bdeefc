"""How long `limen --help` takes in a lean install (the CLI alone, as `pip install limen`
gives it), next to a bare `python -c pass` in the same virtualenv. Goal: under 0.2 s.

    .venv/bin/python bench/cli_startup.py [--venv DIR] [--runs 20]

Without --venv it builds a fresh virtualenv in a temp dir and installs this tree into it
(about a minute); pass the same --venv again to reuse one. Prints one small table.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "cli_plugins", "webapp")
GOAL_SECONDS = 0.2


def lean_venv(where: Path) -> Path:
    """A virtualenv with the CLI alone, installed (not editable) from a copy of this tree."""
    python = where / "bin" / "python"
    if python.exists():
        return where
    source = Path(tempfile.mkdtemp(prefix="limen-src-"))
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    run([sys.executable, "-m", "venv", str(where)])
    run([str(python), "-m", "pip", "install", "-q", str(source)])
    shutil.rmtree(source)
    return where


def run(command: list[str]) -> None:
    subprocess.run(command, capture_output=True, check=True)  # noqa: S603 (our venv, fixed args)


def timed(command: list[str], runs: int) -> list[float]:
    run(command)  # warm the page cache once
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run(command)
        samples.append(time.perf_counter() - start)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="reuse (or create) this virtualenv")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    venv = lean_venv(args.venv or Path(tempfile.mkdtemp(prefix="limen-lean-")) / "venv")
    bin_dir = venv / "bin"
    rows = [
        ("python -c pass", timed([str(bin_dir / "python"), "-c", "pass"], args.runs)),
        ("limen --help", timed([str(bin_dir / "limen"), "--help"], args.runs)),
    ]
    print(f"lean virtualenv: {venv}   runs: {args.runs}   goal: limen --help < {GOAL_SECONDS} s")
    print(f"{'command':<16} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, samples in rows:
        print(
            f"{name:<16} {statistics.median(samples):>9.3f} {min(samples):>7.3f} "
            f"{max(samples):>7.3f}"
        )
    median = statistics.median(rows[1][1])
    print(f"limen --help: {'MET' if median < GOAL_SECONDS else 'MISSED'} (median {median:.3f} s)")


if __name__ == "__main__":
    main()
