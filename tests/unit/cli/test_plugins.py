"""Plugins: built-ins through the same hooks, an inline plugin, entry points, loud typos, and
every hook documented and tested."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path

import click
import pytest

from cli_plugins import hookspecs
from cli_plugins.credentials import Credentials
from cli_plugins.hookspecs import hookimpl
from cli_plugins.plugins import (
    DEFAULT_PLUGINS,
    build_plugin_manager,
    plugin_manager,
    plugin_records,
)
from cli_plugins.providers import LoginContext, Provider

from .conftest import invoke

ROOT = Path(__file__).resolve().parents[3]
HOOKS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "limen_spec"))
BUILTIN_PROVIDERS = {"browser", "device", "client-credentials", "api-key", "password"}


class EchoProvider(Provider):
    name = "echo"
    help = "Test provider."

    def login(self, context: LoginContext) -> Credentials:
        raise NotImplementedError


class InlinePlugin:
    @hookimpl
    def register_providers(self, register: Callable[[Provider], None]) -> None:
        register(EchoProvider())

    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command()
        def hello() -> None:
            click.echo("hello from a plugin")

    @hookimpl
    def choose_default_provider(self, context: LoginContext) -> str:
        return "echo"


class TypoPlugin:
    @hookimpl
    def register_provider(self, register: Callable[[Provider], None]) -> None:
        """Misspelled on purpose (no trailing s)."""


@pytest.fixture
def inline_plugin() -> Iterator[InlinePlugin]:
    pm = plugin_manager()
    plugin = InlinePlugin()
    pm.register(plugin, name="inline-test-plugin")
    try:
        yield plugin
    finally:
        pm.unregister(plugin)


def test_hook_register_providers_builtins_use_it():
    pm = build_plugin_manager(entry_points=False)
    assert [name for name in DEFAULT_PLUGINS if pm.get_plugin(name) is None] == []
    found: list[str] = []
    pm.hook.register_providers(register=lambda p: found.append(p.name))
    assert set(found) == BUILTIN_PROVIDERS


def test_hook_register_providers_plugin_is_listed(config_dir, inline_plugin):
    result = invoke("providers", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)["providers"]}
    assert rows["echo"]["help"] == "Test provider."
    assert rows["browser"]["source"] == "built-in" and rows["browser"]["needs_browser"] is True
    assert set(rows) >= BUILTIN_PROVIDERS


def test_hook_register_commands_adds_commands(inline_plugin):
    group = click.Group("limen")
    plugin_manager().hook.register_commands(cli=group)
    assert {"login", "logout", "status", "hello"} <= set(group.commands)


def test_hook_choose_default_provider_plugin_answer_wins(inline_plugin):
    context = None  # the built-in default is trylast, so the plugin answers first
    assert plugin_manager().hook.choose_default_provider(context=context) == "echo"


def test_hook_choose_default_provider_builtin_prefers_device_without_a_terminal():
    pm = build_plugin_manager(entry_points=False)

    class NoTerminal:
        env: dict[str, str] = {"DISPLAY": ":0"}
        interactive = False

    assert pm.hook.choose_default_provider(context=NoTerminal()) == "device"


def installed(monkeypatch: pytest.MonkeyPatch, name: str, target: str) -> None:
    ep = metadata.EntryPoint(name, target, "limen.plugins")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [ep])


def test_entry_point_plugins_are_loaded(monkeypatch):
    installed(monkeypatch, "inline", f"{__name__}:InlinePlugin")
    pm = build_plugin_manager(disabled=frozenset())
    assert pm.get_plugin("inline") is InlinePlugin
    assert [r.status for r in plugin_records(pm)] == ["enabled"]


def test_misspelled_hook_is_reported_and_the_plugin_skipped(monkeypatch, capsys):
    installed(monkeypatch, "typo", f"{__name__}:TypoPlugin")
    pm = build_plugin_manager(disabled=frozenset())
    assert pm.get_plugin("typo") is None
    assert "did you mean 'register_providers'" in capsys.readouterr().err
    assert [r.status for r in plugin_records(pm)] == ["broken"]


def test_plugin_that_fails_to_import_is_reported_not_fatal(monkeypatch, capsys):
    installed(monkeypatch, "broken", "no_such_module_for_limen:x")
    pm = build_plugin_manager(disabled=frozenset())
    assert pm.get_plugin("broken") is None
    assert "failed to import" in capsys.readouterr().err


def test_disabled_plugin_is_not_loaded(monkeypatch):
    installed(monkeypatch, "inline", f"{__name__}:InlinePlugin")
    pm = build_plugin_manager(disabled=frozenset({"inline"}))
    assert pm.get_plugin("inline") is None
    assert [r.status for r in plugin_records(pm)] == ["disabled"]


def test_no_plugins_variable_loads_none(monkeypatch):
    installed(monkeypatch, "inline", f"{__name__}:InlinePlugin")
    monkeypatch.setenv("LIMEN_NO_PLUGINS", "1")
    pm = build_plugin_manager(disabled=frozenset())
    assert pm.get_plugin("inline") is None
    assert [r.status for r in plugin_records(pm)] == ["not loaded"]


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_docs_and_a_test(hook):
    docs = (ROOT / "docs" / "cli.md").read_text()
    assert re.search(rf"^### `{hook}\(", docs, re.MULTILINE), f"docs/cli.md has no entry for {hook}"
    tests = Path(__file__).read_text()
    assert f"def test_hook_{hook}_" in tests, f"no test for {hook}"
