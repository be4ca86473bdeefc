"""The plugin manager: built-ins from DEFAULT_PLUGINS, then the ``limen.plugins`` entry
points. Built when the click group first needs it, never at import time.

A third-party plugin can never take `limen` down: one that fails to import, implements a hook
that does not exist (a typo), has a wrong hook signature or raises inside a hook is reported
once on stderr, naming its distribution, and skipped. ``LIMEN_NO_PLUGINS=1`` loads none and
`limen plugins disable NAME` turns one off (recorded in config.toml).
"""

from __future__ import annotations

import importlib
import os
import sys
import weakref
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

import pluggy

from . import hookspecs
from .errors import LimenError

if TYPE_CHECKING:
    from .providers import Provider

ENTRY_POINT_GROUP = "limen.plugins"
NO_PLUGINS_VARIABLE = "LIMEN_NO_PLUGINS"
DEFAULT_PLUGINS = (
    "cli_plugins.providers.browser",
    "cli_plugins.providers.device",
    "cli_plugins.providers.client_credentials",
    "cli_plugins.providers.api_key",
    "cli_plugins.providers.password",
    "cli_plugins.providers.auto",
    "cli_plugins.commands",
)


@dataclass
class PluginRecord:
    """One installed plugin (an entry point of the ``limen.plugins`` group) and its state."""

    name: str
    target: str
    distribution: str
    version: str
    status: str = "enabled"  # enabled | disabled | broken | not loaded
    problem: str | None = None
    hooks: list[str] = field(default_factory=list)
    modules: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.name!r} (from {self.distribution} {self.version})".replace(" )", ")")


_manager: pluggy.PluginManager | None = None
# The installed plugins each manager saw, by entry point name (built-ins are not listed).
_records: weakref.WeakKeyDictionary[pluggy.PluginManager, dict[str, PluginRecord]] = (
    weakref.WeakKeyDictionary()
)


def plugins_disabled(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(NO_PLUGINS_VARIABLE, "")
    return value.strip().lower() not in ("", "0", "false", "no")


def build_plugin_manager(
    *, entry_points: bool = True, disabled: frozenset[str] | None = None
) -> pluggy.PluginManager:
    """A fresh manager with the built-ins and (optionally) the installed plugins that load
    cleanly; the others are recorded as broken or disabled (see ``plugin_records``)."""
    pm = pluggy.PluginManager("limen")
    pm.add_hookspecs(hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    records = _records[pm] = {}
    if entry_points:
        off = _disabled_in_config() if disabled is None else disabled
        for record, ep in _discover():
            records[record.name] = record
            if plugins_disabled():
                record.status = "not loaded"
                record.problem = f"{NO_PLUGINS_VARIABLE} is set"
            elif record.name in off or record.distribution in off:
                record.status = "disabled"
            else:
                _load(pm, record, ep)
    pm.check_pending()  # every plugin that could fail it was already checked and skipped
    return pm


def _discover() -> Iterator[tuple[PluginRecord, metadata.EntryPoint]]:
    seen: set[str] = set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen or ep.name in DEFAULT_PLUGINS:
            continue
        seen.add(ep.name)
        dist = ep.dist
        name = dist.metadata["Name"] if dist is not None else "an unknown distribution"
        version = dist.version if dist is not None else ""
        yield PluginRecord(ep.name, ep.value, str(name), str(version)), ep


def _load(pm: pluggy.PluginManager, record: PluginRecord, ep: metadata.EntryPoint) -> None:
    """Import and register one plugin; any failure marks it broken instead of raising."""
    try:
        plugin = ep.load()
    except (Exception, SystemExit) as exc:  # a sys.exit() at import must not end limen
        broken(record, f"it failed to import: {type(exc).__name__}: {exc}")
        return
    try:
        pm.register(plugin, name=record.name)
    except (pluggy.PluginValidationError, ValueError) as exc:
        broken(record, f"a hook has the wrong signature: {exc}")
        return
    callers = pm.get_hookcallers(plugin) or []
    unknown = [caller.name for caller in callers if not caller.has_spec()]
    if unknown:
        pm.unregister(plugin)
        broken(record, "it implements " + ", ".join(_unknown_hook(n) for n in unknown))
        return
    record.hooks = sorted(caller.name for caller in callers)
    module = plugin.__name__ if isinstance(plugin, ModuleType) else plugin.__module__
    record.modules = {str(module).split(".")[0]}  # its package: where its code raises from


def _unknown_hook(name: str) -> str:
    import difflib

    known = [n for n in dir(hookspecs) if hasattr(getattr(hookspecs, n), "limen_spec")]
    close = difflib.get_close_matches(name, known, n=1)
    return f"an unknown hook {name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")


def broken(record: PluginRecord, problem: str) -> None:
    """Mark a plugin broken and say so once, with how to get rid of the message."""
    if record.status == "broken":
        return
    record.status, record.problem = "broken", problem
    print(
        f"Warning: the limen plugin {record.label} is broken and was skipped: {problem}.\n"
        f"Fix or upgrade it, or turn it off: `limen plugins disable {record.name}` "
        f"(or {NO_PLUGINS_VARIABLE}=1 for all plugins).",
        file=sys.stderr,
    )


def _disabled_in_config() -> frozenset[str]:
    from .config import Config, config_dir

    try:
        return frozenset(Config.load(config_dir(os.environ)).disabled_plugins)
    except LimenError:
        return frozenset()  # a broken config.toml is reported by the command that reads it


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide manager, built on first use."""
    global _manager
    if _manager is None:
        _manager = build_plugin_manager()
    return _manager


def plugin_records(pm: pluggy.PluginManager | None = None) -> list[PluginRecord]:
    """The installed plugins ``pm`` (default: this process's manager) saw, in order."""
    return list(_records.get(pm or plugin_manager(), {}).values())


def call_each(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
    """Call every implementation of ``hook`` in pluggy's order, yielding (plugin, result);
    a plugin that raises is marked broken and skipped instead of failing the command."""
    for impl in reversed(getattr(pm.hook, hook).get_hookimpls()):
        ok, result = _guarded(pm, impl, hook, kwargs)
        if ok:
            yield impl.plugin_name, result


def _guarded(
    pm: pluggy.PluginManager, impl: Any, hook: str, kwargs: dict[str, Any]
) -> tuple[bool, Any]:
    try:
        return True, impl.function(**{arg: kwargs[arg] for arg in impl.argnames})
    except Exception as exc:
        record = _records.get(pm, {}).get(impl.plugin_name)
        if record is None:  # a built-in or an inline (test) plugin: a bug to report
            raise
        broken(record, f"its {hook} hook raised {type(exc).__name__}: {exc}")
        return False, None


def first_answer(pm: pluggy.PluginManager, hook: str, **kwargs: Any) -> Any:
    """The first non-None answer of a ``firstresult`` hook, skipping broken plugins."""
    for _, result in call_each(pm, hook, **kwargs):
        if result is not None:
            return result
    return None


def blame(tb: TracebackType | None) -> PluginRecord | None:
    """The installed plugin whose code raised (deepest frame first), if any."""
    records = _records.get(_manager, {}) if _manager is not None else {}
    modules = {m: r for r in records.values() for m in r.modules}
    frames = []
    while tb is not None:
        frames.append(str(tb.tb_frame.f_globals.get("__name__", "")))
        tb = tb.tb_next
    for module in reversed(frames):
        for prefix, record in modules.items():
            if module == prefix or module.startswith(prefix + "."):
                return record
    return None


@dataclass(frozen=True)
class ProviderInfo:
    provider: Provider
    source: str  # "built-in" or the distribution that provides it


def source_of(pm: pluggy.PluginManager, plugin_name: str) -> str:
    """Where a plugin comes from: built-in, or the distribution that installed it."""
    if plugin_name in DEFAULT_PLUGINS:
        return "built-in"
    record = _records.get(pm, {}).get(plugin_name)
    return record.distribution if record is not None else plugin_name


def collect_providers(pm: pluggy.PluginManager) -> dict[str, ProviderInfo]:
    """Every registered provider by name; the first registration of a name wins (built-ins
    are ``trylast``, so a plugin may replace one). An invalid one breaks only its plugin."""
    found: dict[str, ProviderInfo] = {}
    for impl in reversed(pm.hook.register_providers.get_hookimpls()):
        offered: list[Provider] = []

        def register(provider: Provider, offered: list[Provider] = offered) -> None:
            name = getattr(provider, "name", "")
            if not name or not callable(getattr(provider, "login", None)):
                raise LimenError(f"it registered an invalid login provider: {provider!r}")
            offered.append(provider)

        ok, _ = _guarded(pm, impl, "register_providers", {"register": register})
        source = source_of(pm, impl.plugin_name)
        for provider in offered if ok else ():
            found.setdefault(provider.name, ProviderInfo(provider, source))
    return found
