"""The built-in commands, added to the `limen` group through ``register_commands`` like any
plugin's commands."""

from __future__ import annotations

import click

from ..hookspecs import hookimpl
from .api import api
from .keys import keys
from .login import login
from .logout import logout
from .plugins import plugins
from .profiles import profiles
from .providers import providers
from .tokens import export, token
from .whoami import status, whoami

BUILTIN_COMMANDS = (
    login,
    logout,
    status,
    whoami,
    token,
    export,
    api,
    keys,
    profiles,
    providers,
    plugins,
)


@hookimpl(trylast=True)
def register_commands(cli: click.Group) -> None:
    for command in BUILTIN_COMMANDS:
        cli.add_command(command)
