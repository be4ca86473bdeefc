"""The source of `limen-acme`, a third-party login plugin written from docs/cli.md alone: the
device flow as ACME's own OAuth client (public, or confidential with a secret the plugin reads
from its own environment variable). Built and installed by the tests, checked with mypy --strict.
"""

from __future__ import annotations

FILES = {
    "pyproject.toml": """
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "limen-acme"
        version = "0.1.0"
        requires-python = ">=3.11"
        dependencies = ["limen"]

        [project.entry-points."limen.plugins"]
        acme = "limen_acme"

        [tool.setuptools]
        packages = ["limen_acme"]

        [tool.setuptools.package-data]
        limen_acme = ["py.typed"]
    """,
    "limen_acme/py.typed": "",
    "limen_acme/__init__.py": '''
        """Sign in to Limen with ACME's own OAuth client (RFC 8628 device flow)."""

        from __future__ import annotations

        from collections.abc import Callable

        import httpx

        from cli_plugins.plugin_sdk import (
            Credentials,
            LoginContext,
            Provider,
            UsageError,
            basic_auth,
            device_login,
            hookimpl,
        )

        CLIENT_ID = "ACME_CLIENT_ID"
        CLIENT_SECRET = "ACME_CLIENT_SECRET"  # never stored: read again when limen needs it
        SCOPE = "profile offline_access"


        class AcmeProvider(Provider):
            name = "acme"
            help = "Sign in with ACME's OAuth client (a code to approve in a browser)."
            needs_person = True

            def login(self, context: LoginContext) -> Credentials:
                client_id = context.env.get(CLIENT_ID)
                if not client_id:
                    raise UsageError(f"Set {CLIENT_ID} to ACME's client id.")
                auth = self._auth(context, client_id)
                tokens = device_login(context, client_id=client_id, scope=SCOPE, auth=auth)
                return context.credentials(tokens, client_id=client_id)

            def client_auth(
                self, context: LoginContext, credentials: Credentials
            ) -> httpx.Auth | None:
                return self._auth(context, credentials.client_id or "")

            @staticmethod
            def _auth(context: LoginContext, client_id: str) -> httpx.Auth | None:
                secret = context.env.get(CLIENT_SECRET)
                return basic_auth(client_id, secret) if secret else None


        @hookimpl
        def register_providers(register: Callable[[Provider], None]) -> None:
            register(AcmeProvider())
    ''',
}
