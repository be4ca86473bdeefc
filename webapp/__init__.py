"""Limen's server package.

Importing ``webapp`` loads nothing: the application factory lives in ``webapp.factory`` and is
reached through the names below on first use, so ``webapp.identity`` (the framework-free core)
can be imported without Flask. ``gunicorn 'webapp:create_app()'`` and ``from webapp import
create_app`` keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webapp.factory import ConfigurationError, create_app, resolve_settings

__all__ = ["ConfigurationError", "create_app", "resolve_settings"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from webapp import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'webapp' has no attribute {name!r}")
