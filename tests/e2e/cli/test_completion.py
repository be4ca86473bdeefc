"""`limen completion bash` in the real bash: commands, profiles, providers and the names of
your API keys complete."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from .conftest import LIMEN

COMPLETE = 'eval "$SCRIPT"; COMP_WORDS=($WORDS ""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
COMPLETE += '_limen_completion limen; printf "%s\\n" "${COMPREPLY[@]}"'


def completions(limen, words: str) -> list[str]:
    """What bash offers after ``words`` (and a space), with limen's own completion script."""
    script = limen.run("completion", "bash").stdout
    env = limen.env(SCRIPT=script, WORDS=words)
    env["PATH"] = f"{Path(LIMEN).parent}{os.pathsep}{env['PATH']}"
    done = subprocess.run(
        ["bash", "-c", COMPLETE], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return sorted(line for line in done.stdout.splitlines() if line)


def test_commands_profiles_and_providers_complete(limen, register):
    limen.login(register(), "--profile", "work")
    assert {"login", "logout", "token", "kubectl-credential"} <= set(completions(limen, "limen"))
    assert completions(limen, "limen --profile") == ["work"]
    assert {"browser", "device", "password"} <= set(completions(limen, "limen login --provider"))


def test_key_names_complete_from_the_server(limen, account):
    limen.login(account)
    for name in ("deploy", "backup"):
        assert limen.run("keys", "create", name, "--scope", "profile").returncode == 0
    assert completions(limen, "limen keys revoke") == ["backup", "deploy"]
