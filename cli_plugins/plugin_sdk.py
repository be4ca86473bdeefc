"""Everything a `limen` plugin needs, from one module (typed: the package ships ``py.typed``).

    from cli_plugins.plugin_sdk import Credentials, LoginContext, Provider, hookimpl

A provider subclasses ``Provider`` and implements ``login(context) -> Credentials``; it may
implement ``renew`` (new credentials without a refresh token) and ``client_auth`` (how its
OAuth client authenticates when `limen` refreshes or revokes its tokens). Build credentials
with ``context.credentials(token_response, client_id=...)`` so that every later step uses the
client the tokens were issued to. See docs/cli.md, "Plugins".
"""

from __future__ import annotations

from .console import Console, read_stdin_secret
from .credentials import Credentials
from .discovery import Metadata
from .errors import (
    AuthRequired,
    ExitCode,
    Forbidden,
    LimenError,
    LoginCancelled,
    ServerUnreachable,
    SessionEnded,
    UsageError,
)
from .hookspecs import hookimpl
from .oauth import (
    CLI_CLIENT_ID,
    DEVICE_GRANT,
    OAuthError,
    basic_auth,
    client_form,
    post_form,
    token_request,
)
from .options import json_option, profile_options, runtime
from .output import print_json, print_table
from .providers import LoginContext, Provider
from .providers.device import device_login
from .runtime import Runtime

__all__ = [
    "CLI_CLIENT_ID",
    "DEVICE_GRANT",
    "AuthRequired",
    "Console",
    "Credentials",
    "ExitCode",
    "Forbidden",
    "LimenError",
    "LoginCancelled",
    "LoginContext",
    "Metadata",
    "OAuthError",
    "Provider",
    "Runtime",
    "ServerUnreachable",
    "SessionEnded",
    "UsageError",
    "basic_auth",
    "client_form",
    "device_login",
    "hookimpl",
    "json_option",
    "post_form",
    "print_json",
    "print_table",
    "profile_options",
    "read_stdin_secret",
    "runtime",
    "token_request",
]
