"""A broken third-party plugin never takes `limen` down: it is reported once, naming its
distribution, and skipped; LIMEN_NO_PLUGINS=1 and `limen plugins disable` silence it."""

from __future__ import annotations

import json

import pytest

from .packages import install_dist

TYPO = """
from cli_plugins.plugin_sdk import hookimpl

@hookimpl
def register_provider(register):  # misspelled: the hook is register_providers
    pass
"""

CRASH = """
import click
from cli_plugins.plugin_sdk import hookimpl

@hookimpl
def register_providers(register):
    raise ValueError("no providers today")

@hookimpl
def register_commands(cli):
    @cli.command()
    def boom():
        raise RuntimeError("the plugin's own bug")
"""


@pytest.fixture
def typo_site(tmp_path):
    return install_dist(
        tmp_path / "typo", "limen-typo", {"limen_typo": TYPO}, {"typo": "limen_typo"}
    )


@pytest.fixture
def crash_site(tmp_path):
    return install_dist(
        tmp_path / "crash", "limen-crash", {"limen_crash": CRASH}, {"crash": "limen_crash"}
    )


def test_a_misspelled_hook_is_reported_by_distribution_and_skipped(limen, account, typo_site):
    limen.login(account)
    env = limen.env(PYTHONPATH=str(typo_site))
    for args in (["--help"], ["providers"], ["whoami"]):
        result = limen.run(*args, env=env)
        assert result.returncode == 0, result.stderr
        assert "'typo' (from limen-typo 0.1.0) is broken" in result.stderr
        assert "did you mean 'register_providers'" in result.stderr
        assert "Traceback" not in result.stderr
    assert limen.run("whoami", env=env).stdout.splitlines()[0] == account.email


def test_no_plugins_variable_and_disable_silence_a_broken_plugin(limen, typo_site):
    env = limen.env(PYTHONPATH=str(typo_site))

    def status(**extra: str) -> str:
        result = limen.run("plugins", "list", "--json", env={**env, **extra})
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["plugins"][0]["status"])

    assert status() == "broken"
    quiet = limen.run("--help", env={**env, "LIMEN_NO_PLUGINS": "1"})
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert status(LIMEN_NO_PLUGINS="1") == "not loaded"
    assert limen.run("plugins", "disable", "typo", env=env).returncode == 0
    assert limen.run("--help", env=env).stderr == ""
    assert status() == "disabled"
    assert limen.run("plugins", "enable", "limen-typo", env=env).returncode == 0
    assert status() == "broken"


def test_a_plugin_that_raises_is_named_and_the_rest_works(limen, crash_site):
    env = limen.env(PYTHONPATH=str(crash_site))
    providers = limen.run("providers", "--json", env=env)
    assert providers.returncode == 0, providers.stderr
    assert "'crash' (from limen-crash 0.1.0) is broken" in providers.stderr
    assert {p["name"] for p in json.loads(providers.stdout)["providers"]} >= {"password", "device"}
    boom = limen.run("boom", env=env)
    assert boom.returncode == 1
    assert "the limen plugin 'crash' (from limen-crash 0.1.0) failed" in boom.stderr
    assert "limen plugins disable crash" in boom.stderr and "Traceback" not in boom.stderr
