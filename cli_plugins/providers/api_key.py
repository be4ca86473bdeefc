"""API key login: a key typed at a hidden prompt or read with --secret-stdin is stored;
LIMEN_API_KEY in the environment is used as is and never stored."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from ..console import read_stdin_secret
from ..credentials import Credentials
from ..errors import UsageError
from ..hookspecs import hookimpl
from . import LoginContext, Provider

KEY_SHAPE = re.compile(r"^limen_[0-9A-Za-z]{8}_[0-9A-Za-z]{38}$")


def check_key_shape(key: str) -> str:
    if not KEY_SHAPE.match(key):
        raise UsageError(
            "That does not look like a Limen API key (limen_<8 characters>_<38 characters>).",
            "Copy the whole key shown when it was created (`limen keys create`).",
        )
    return key


class ApiKeyProvider(Provider):
    name = "api-key"
    help = "Use an API key (hidden prompt, --secret-stdin, or LIMEN_API_KEY without storing)."
    needs_tty = True

    def login(self, context: LoginContext) -> Credentials:
        if context.option("secret_stdin"):
            key = read_stdin_secret("API key")
        else:
            key = context.console.secret(
                "API key",
                hint="Pipe the key into --secret-stdin, or set LIMEN_API_KEY (used, not stored).",
            )
        return Credentials(
            kind="api_key",
            provider=self.name,
            server=context.server,
            access_token=check_key_shape(key),
            obtained_at=time.time(),
        )


@hookimpl(trylast=True)
def register_providers(register: Callable[[Provider], None]) -> None:
    register(ApiKeyProvider())
