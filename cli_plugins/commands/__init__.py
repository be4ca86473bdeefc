"""The built-in commands, added to the `limen` group through ``register_commands`` like any
plugin's commands."""

from __future__ import annotations

import click

from ..completion import completion
from ..helpers.docker import setup_docker
from ..helpers.git import git_credential, setup_git
from ..helpers.kubectl import kubectl_credential
from ..hookspecs import hookimpl
from .api import api
from .authz import authz, policy
from .keys import keys
from .login import login
from .logout import logout
from .orgs import org
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
    authz,
    policy,
    org,
    profiles,
    providers,
    plugins,
    setup_git,
    git_credential,
    setup_docker,
    kubectl_credential,
    completion,
)


@hookimpl(trylast=True)
def register_commands(cli: click.Group) -> None:
    for command in BUILTIN_COMMANDS:
        cli.add_command(command)
