"""The plugin manager: built-ins from DEFAULT_PLUGINS, then the ``limen.plugins`` entry
points. Built when the click group first needs it, never at import time."""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from importlib import metadata

import pluggy

from . import hookspecs
from .errors import LimenError
from .providers import Provider

ENTRY_POINT_GROUP = "limen.plugins"
DEFAULT_PLUGINS = (
    "cli_plugins.providers.browser",
    "cli_plugins.providers.device",
    "cli_plugins.providers.client_credentials",
    "cli_plugins.providers.api_key",
    "cli_plugins.providers.password",
    "cli_plugins.providers.auto",
    "cli_plugins.commands",
)

_manager: pluggy.PluginManager | None = None


def build_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-ins and (optionally) installed plugins, validated."""
    pm = pluggy.PluginManager("limen")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        _load_entry_points(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise LimenError(
            f"A limen plugin is broken: {exc}",
            "Fix or uninstall that plugin (`limen providers` lists what is installed).",
        ) from exc
    return pm


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    """Like pluggy's loader, but a plugin that fails to import is reported, not fatal."""
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as exc:
            raise LimenError(f"The limen plugin {ep.name!r} ({ep.value}) is broken: {exc}") from exc
        except Exception as exc:  # a broken third-party plugin must not take `limen` down
            print(
                f"Warning: the limen plugin {ep.name!r} ({ep.value}) failed to load: {exc}",
                file=sys.stderr,
            )


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    if _manager is None:
        _manager = build_plugin_manager()
    return _manager


@dataclass(frozen=True)
class ProviderInfo:
    provider: Provider
    source: str  # "built-in" or the distribution that provides it


def collect_providers(pm: pluggy.PluginManager) -> dict[str, ProviderInfo]:
    """Every registered provider by name; the first registration of a name wins (built-ins
    are ``trylast``, so a plugin may replace one)."""
    found: dict[str, ProviderInfo] = {}

    def register(provider: Provider) -> None:
        name = getattr(provider, "name", "")
        if not name or not callable(getattr(provider, "login", None)):
            raise LimenError(f"A plugin registered an invalid login provider: {provider!r}")
        found.setdefault(name, ProviderInfo(provider, _source(provider)))

    pm.hook.register_providers(register=register)
    return found


def _source(provider: Provider) -> str:
    module = type(provider).__module__
    if module.startswith("cli_plugins."):
        return "built-in"
    dists = metadata.packages_distributions().get(module.split(".")[0], [])
    return dists[0] if dists else module
