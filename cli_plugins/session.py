"""The one token path shared by the CLI and the SDK: environment credentials, stored
credentials, refresh before expiry or after a 401 (one process at a time, per profile)."""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from . import oauth
from .config import Settings, same_server
from .console import Console
from .credentials import Credentials, CredentialStore, refresh_lock
from .discovery import Metadata, discover
from .errors import AuthRequired, LimenError, UsageError, login_command
from .http import check
from .output import when
from .providers import LoginContext
from .stepup import challenge_of

if TYPE_CHECKING:
    from .plugins import ProviderInfo

ENV_CREDENTIALS = ("LIMEN_TOKEN", "LIMEN_API_KEY")


@dataclass(frozen=True)
class EnvCredential:
    variable: str
    value: str


class TokenManager:
    """Hands out a valid access token for one profile, renewing it when needed."""

    def __init__(
        self,
        settings: Settings,
        store: CredentialStore,
        http: httpx.Client,
        env: Mapping[str, str],
        providers: Callable[[], Mapping[str, ProviderInfo]],
        console: Console | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.http = http
        self.env = env
        self._providers = providers
        self.console = console or Console(interactive=False)

    @property
    def profile(self) -> str:
        return self.settings.profile

    def metadata(self) -> Metadata:
        return discover(self.settings.server, self.http, self.settings.config_dir)

    def env_credential(self) -> EnvCredential | None:
        """LIMEN_TOKEN, else LIMEN_API_KEY: they win over stored logins and are never stored."""
        for variable in ENV_CREDENTIALS:
            value = self.env.get(variable, "").strip()
            if value:
                return EnvCredential(variable, value)
        return None

    def stored(self) -> Credentials | None:
        """The profile's stored credentials, if they belong to the configured server."""
        creds = self.store.load(self.profile)
        if creds is None or not same_server(creds.server, self.settings.server):
            return None
        return creds

    def require_stored(self) -> Credentials:
        creds = self.store.load(self.profile)
        if creds is None:
            raise AuthRequired(
                f"Not logged in (profile {self.profile!r}, server {self.settings.server}).",
                f"Run {login_command(self.profile)}.",
            )
        if not same_server(creds.server, self.settings.server):
            raise AuthRequired(
                f"Profile {self.profile!r} is logged in to {creds.server}, not to "
                f"{self.settings.server} (from {self.settings.server_source}).",
                f"Use another profile for that server: `limen login --server "
                f"{self.settings.server} --profile <name>`.",
            )
        return creds

    def current(self) -> Credentials:
        """Stored credentials, renewed first if they expire within the refresh margin."""
        creds = self.require_stored()
        if not creds.needs_refresh():
            return creds
        return self._renew_locked(lambda c: c.needs_refresh())

    def access_token(self) -> str:
        env = self.env_credential()
        return env.value if env else self.current().access_token

    def after_rejection(self, rejected: str) -> str | None:
        """After a 401 for ``rejected``: a renewed token, or None when there is nothing to do."""
        if self.env_credential() is not None:
            return None
        creds = self._renew_locked(lambda c: c.access_token == rejected)
        return None if creds.access_token == rejected else creds.access_token

    def _renew_locked(self, stale: Callable[[Credentials], bool]) -> Credentials:
        """Renew under the profile's lock; skip if another process already did (re-read)."""
        from filelock import Timeout

        try:
            with refresh_lock(self.settings.config_dir, self.profile):
                creds = self.require_stored()
                if not stale(creds):
                    return creds
                renewed = self._renew(creds)
                if renewed is None:
                    if creds.expired():
                        raise self._expired(creds)
                    return creds
                self.store.save(self.profile, renewed)
                return renewed
        except Timeout as exc:
            raise LimenError(
                f"Another limen process has held the refresh lock for profile {self.profile!r} "
                "for a minute.",
                f"If none is running, remove {exc.lock_file} and try again.",
            ) from exc

    def _expired(self, creds: Credentials) -> AuthRequired:
        again = login_command(self.profile, creds.provider)
        hint = f"Run {again}."
        if creds.kind == "client_credentials":
            hint = (
                f"Set LIMEN_CLIENT_SECRET (the token is then renewed automatically) or run {again}."
            )
        return AuthRequired(
            f"The credentials of profile {self.profile!r} expired at {when(creds.expires_at)} "
            "and cannot be renewed automatically.",
            hint,
        )

    def switch_org(self, organization: str) -> Credentials:
        """Renew the stored session asking it to act in ``organization`` ("": in none); the
        server checks the membership (``Forbidden`` if not a member). Stored like a renewal."""
        env = self.env_credential()
        if env is not None:
            raise UsageError(
                f"The credential comes from {env.variable}: there is no stored session to switch.",
                "Unset it and log in (`limen login`), then switch.",
            )
        with refresh_lock(self.settings.config_dir, self.profile):
            creds = self.require_stored()
            if not creds.refresh_token:
                raise UsageError(
                    f"Profile {self.profile!r} holds {creds.kind} credentials, which act for a "
                    "service, not a person in an organisation.",
                    "Log in as yourself (`limen login --browser` or `--device`), then switch.",
                )
            renewed = self._refresh(creds, organization)
            self.store.save(self.profile, renewed)
            return renewed

    def _refresh(self, creds: Credentials, organization: str | None = None) -> Credentials:
        """Spend the refresh token as the client it was issued to (authenticated the way its
        provider says)."""
        assert creds.refresh_token
        client_id = creds.client_id or oauth.CLI_CLIENT_ID
        try:
            body = oauth.refresh(
                self.metadata(),
                self.http,
                creds.refresh_token,
                client_id,
                self.client_auth(creds),
                organization,
            )
        except AuthRequired as exc:
            raise exc.with_login_hint(self.profile) from exc
        body.setdefault("refresh_token", creds.refresh_token)
        renewed = Credentials.from_token_response(
            body,
            provider=creds.provider,
            server=creds.server,
            kind=creds.kind,
            client_id=client_id,
            subject=creds.subject,
            email=creds.email,
        )
        renewed.session_id = renewed.session_id or creds.session_id
        return renewed

    def _renew(self, creds: Credentials) -> Credentials | None:
        """Spend the refresh token as the client it was issued to, else ask the provider for
        new credentials (client credentials)."""
        if creds.refresh_token:
            return self._refresh(creds)
        info = self._providers().get(creds.provider)
        if info is None:
            return None
        return info.provider.renew(self.login_context(creds.provider), creds)

    def client_auth(self, creds: Credentials) -> httpx.Auth | None:
        """How ``creds.client_id`` authenticates at the token and revocation endpoints: what
        its provider says (``Provider.client_auth``), None for a public client."""
        info = self._providers().get(creds.provider)
        if info is None:
            return None
        return info.provider.client_auth(self.login_context(creds.provider), creds)

    def login_context(
        self, provider: str, options: dict[str, object] | None = None
    ) -> LoginContext:
        return LoginContext(
            server=self.settings.server,
            profile=self.profile,
            http=self.http,
            env=self.env,
            console=self.console,
            config_dir=self.settings.config_dir,
            options=dict(options or {}),
            provider=provider,
        )

    def check(self, response: httpx.Response, what: str = "The request") -> httpx.Response:
        """Like http.check, but a refused environment credential is named as such."""
        try:
            return check(response, what=what)
        except AuthRequired as exc:
            env = self.env_credential()
            if env is not None:
                exc.hint = (
                    f"The credential came from {env.variable} in the environment; replace or "
                    "unset it."
                )
                raise
            raise exc.with_login_hint(self.profile) from None


class LimenAuth(httpx.Auth):
    """httpx auth that sends the profile's bearer token and, on a 401, renews once and retries."""

    def __init__(self, manager: TokenManager) -> None:
        self.manager = manager

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.manager.access_token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401 or challenge_of(response) is not None:
            return  # a step-up challenge wants a fresh sign-in: a refresh cannot give one
        renewed = self.manager.after_rejection(token)
        if renewed is None:
            return
        request.headers["Authorization"] = f"Bearer {renewed}"
        yield request
