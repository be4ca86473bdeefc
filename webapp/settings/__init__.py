"""Typed settings read from ``LIMEN_*`` environment variables and validated at start-up.

One tree: ``Settings`` (the server, tokens, rate limits, …) with nested sections ``jobs``
(``JobSettings``), ``mail`` (``MailSettings``) and ``upstream`` (one ``UpstreamSettings`` per
identity provider), all read from the same flat ``LIMEN_*`` names and built once, then
passed down to the web app, the worker and cron alike. Precedence: defaults < environment <
explicit keyword overrides (what tests pass to ``create_app``). ``problems()`` explains every
misconfiguration together with its fix; ``unknown_variables()`` names every ``LIMEN_*``
variable no part of Limen reads (a typo is an error at start-up, not silently ignored).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .jobs import JobSettings
from .mail import MailSettings
from .redis import SentinelTarget, parse_sentinel_url
from .upstream import (
    UPSTREAM_PREFIX,
    UPSTREAM_SUFFIXES,
    UpstreamSettings,
    upstream_from_environ,
    upstream_names,
    variable_for,
)

MIN_SECRET_KEY_LENGTH = 32
DEFAULT_INSTANCE = Path.cwd() / "instance"


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIMEN_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = "production"
    instance_path: Path = DEFAULT_INSTANCE
    database_url: str | None = None
    redis_url: str | None = None
    issuer: str = "http://127.0.0.1:5000"
    api_audience: str | None = None
    secret_key: SecretStr | None = None
    cookie_secure: bool = True

    access_token_ttl: int = Field(600, ge=10, le=86_400)
    refresh_token_ttl: int = Field(30 * 86_400, ge=60)
    refresh_retry_window: int = Field(10, ge=0, le=120)
    lockout_threshold: int = Field(5, ge=1, le=1000)
    lockout_seconds: int = Field(3600, ge=1)
    registration_enabled: bool = True
    mfa_required_roles: str = ""  # comma-separated, e.g. "admin"
    # Step-up (RFC 9470): sensitive admin actions need a sign-in at most this many seconds
    # old (with the second factor when the person has one); see identity/step_up.py.
    step_up_max_age: int = Field(600, ge=0, le=86_400)
    bootstrap_admins: str = ""  # emails that get the admin role when they sign in upstream
    local_login_enabled: bool = True  # password sign-in; off when only upstream IdPs are used
    password_min_length: int = Field(12, ge=8, le=128)
    # Internal domains (suffixes, comma-separated: "corp,internal,local") whose addresses are
    # accepted although address validation refuses them as not globally deliverable.
    email_internal_domains: str = ""

    argon2_time_cost: int = Field(3, ge=1)
    argon2_memory_kib: int = Field(65_536, ge=8_192)
    argon2_parallelism: int = Field(4, ge=1)
    # Password hashing is bounded so that a login flood cannot starve token checks: this many
    # argon2 hashes at once per process, at a lower CPU priority (nice), with this many more
    # waiting; further sign-ins get 503 + Retry-After at once.
    password_hash_concurrency: int = Field(1, ge=1)
    password_hash_nice: int = Field(10, ge=0, le=19)
    password_hash_queue: int = Field(2, ge=0)

    # Verified credentials are kept per process this long at most (never past their exp) and
    # dropped everywhere at once on revocation; size 0 turns the cache off.
    verify_cache_size: int = Field(10_000, ge=0, le=1_000_000)
    verify_cache_seconds: float = Field(30.0, ge=0, le=300)
    invalidation_ack_timeout: float = Field(1.0, gt=0, le=10)

    max_body_bytes: int = Field(64 * 1024, ge=1024)
    ratelimit_login: str = "10/minute;100/hour"
    ratelimit_register: str = "5/minute;50/hour"
    ratelimit_login_account: str = "30/minute;300/day"
    ratelimit_token: str = "300/minute"  # noqa: S105 (a rate, not a secret)
    ratelimit_token_client: str = "600/minute"  # noqa: S105 (a rate, not a secret)
    ratelimit_device_entry: str = "10/minute;60/hour"  # per address and per account
    ratelimit_device_code: str = "5/minute;20/hour"  # checks of one user code, from anywhere
    ratelimit_enabled: bool = True
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"
    # Request log lines are queued in memory and written this often (and at exit) by one
    # thread per process; successful requests are logged at this rate (1.0 = every one),
    # errors (status >= 400) always.
    log_flush_seconds: float = Field(0.5, gt=0, le=10)
    log_success_sample: float = Field(1.0, ge=0, le=1)
    trusted_proxies: int = Field(0, ge=0, le=5)

    # Sections, read from the same environment (explicit overrides replace a whole section).
    jobs: JobSettings = Field(default_factory=JobSettings)  # type: ignore[arg-type]
    mail: MailSettings = Field(default_factory=MailSettings)  # type: ignore[arg-type]
    upstream: tuple[UpstreamSettings, ...] = Field(
        default_factory=lambda: upstream_from_environ(os.environ)
    )

    @field_validator("issuer")
    @classmethod
    def _issuer_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"LIMEN_ISSUER must be an http(s) URL, got {value!r}")
        if parts.query or parts.fragment:
            raise ValueError("LIMEN_ISSUER must not have a query or fragment")
        return value.rstrip("/")

    # -- derived values ---------------------------------------------------------------
    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def internal_email_domains(self) -> tuple[str, ...]:
        return tuple(d.strip() for d in self.email_internal_domains.split(",") if d.strip())

    @property
    def mfa_roles(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.mfa_required_roles.split(",") if r.strip())

    @property
    def audience(self) -> str:
        return self.api_audience or self.issuer

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # SQLAlchemy wants an explicit driver for psycopg 3.
            if url.startswith("postgres://"):
                url = "postgresql://" + url[len("postgres://") :]
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://") :]
            return multi_host_url(url)
        return f"sqlite:///{self.instance_path / 'limen.db'}"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.is_production else "console")

    @property
    def cookie_prefix_host(self) -> str:
        """`__Host-` needs Secure, Path=/ and no Domain: used whenever cookies are Secure."""
        return "__Host-" if self.cookie_secure else ""

    @property
    def redis_sentinel(self) -> SentinelTarget | None:
        """The Sentinel master LIMEN_REDIS_URL names (``redis+sentinel://``), else None."""
        return parse_sentinel_url(self.redis_url) if self.redis_url else None

    def secret_key_value(self) -> str:
        if self.secret_key is None:
            raise RuntimeError("LIMEN_SECRET_KEY is not set")
        return self.secret_key.get_secret_value()

    # -- validation ---------------------------------------------------------------------
    def problems(self) -> list[str]:
        """Every misconfiguration, each with what to do about it."""
        found: list[str] = []
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        if len(secret) < MIN_SECRET_KEY_LENGTH:
            found.append(
                "LIMEN_SECRET_KEY is "
                + ("unset" if not secret else f"only {len(secret)} characters")
                + f": set it to at least {MIN_SECRET_KEY_LENGTH} random characters, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`, and use the "
                "same value on every node."
            )
        loopback = is_loopback_url(self.issuer)
        if self.issuer.startswith("http://") and not loopback:
            found.append(
                f"LIMEN_ISSUER={self.issuer} uses http on a non-loopback host: use the public "
                "https:// URL clients reach (terminate TLS in front of Limen)."
            )
        if not self.cookie_secure and not loopback:
            found.append(
                "LIMEN_COOKIE_SECURE=false is only allowed for a loopback issuer: remove it, "
                "browsers must only send Limen's cookies over https."
            )
        if self.redis_url:
            try:
                parse_sentinel_url(self.redis_url)
            except ValueError as exc:  # its words never repeat the URL's password
                found.append(str(exc))
        if self.is_production and not self.redis_url:
            found.append(
                "LIMEN_REDIS_URL is unset: production needs a real Redis for sessions, "
                "revocation and rate limits, e.g. LIMEN_REDIS_URL=redis://127.0.0.1:6379/0."
            )
        if self.is_production and not self.database_url:
            found.append(
                "LIMEN_DATABASE_URL is unset: production needs PostgreSQL, e.g. "
                "LIMEN_DATABASE_URL=postgresql://limen@db/limen."
            )
        if self.refresh_token_ttl <= self.access_token_ttl:
            found.append(
                "LIMEN_REFRESH_TOKEN_TTL must be longer than LIMEN_ACCESS_TOKEN_TTL: raise it "
                "(default 30 days)."
            )
        return found


def development_secret(instance_path: Path) -> str:
    """The dev server's secret key, generated once and kept 0600 in the instance folder."""
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


# LIMEN_* names that other parts of Limen read, not the server: the `limen` CLI and its SDK
# (docs/cli.md) and the test suite's artifacts folder. A server ignores them.
CLIENT_VARIABLES = frozenset(
    {
        "LIMEN_SERVER",
        "LIMEN_PROFILE",
        "LIMEN_ORG",  # limen authz check / limen policy: the organisation
        "LIMEN_PROVIDER",
        "LIMEN_CLIENT_ID",
        "LIMEN_CLIENT_SECRET",
        "LIMEN_API_KEY",
        "LIMEN_TOKEN",
        "LIMEN_CONFIG_DIR",
        "LIMEN_STORAGE",
        "LIMEN_DEBUG",
        "LIMEN_NO_PLUGINS",
        "LIMEN_BROWSER",
        "LIMEN_EXEC_TOKEN_COMMAND",
        "LIMEN_TEST_ARTIFACTS",
    }
)


def _env_names(model: type[BaseSettings]) -> set[str]:
    return {f"LIMEN_{name.upper()}" for name in model.model_fields}


def server_variables(environ: Mapping[str, str]) -> set[str]:
    """Every ``LIMEN_*`` name the server reads, given the providers this environment names."""
    names = (_env_names(Settings) - {"LIMEN_JOBS", "LIMEN_MAIL", "LIMEN_UPSTREAM"}) | _env_names(
        JobSettings
    )
    names |= _env_names(MailSettings)
    names.add(UPSTREAM_PREFIX + "PROVIDERS")
    for provider in upstream_names(environ):
        key = UPSTREAM_PREFIX + provider.upper().replace("-", "_") + "_"
        names.update(key + suffix for suffix in UPSTREAM_SUFFIXES)
    return names


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``LIMEN_*`` variable no part of Limen reads, with a "did you mean"."""
    known = server_variables(environ)
    found = []
    for name in sorted(n for n in environ if n.startswith("LIMEN_")):
        if name in known or name in CLIENT_VARIABLES:
            continue
        close = difflib.get_close_matches(name, sorted(known | CLIENT_VARIABLES), n=1, cutoff=0.8)
        if close:
            hint = f"did you mean {close[0]}?"
        elif name.startswith(UPSTREAM_PREFIX):
            hint = "name the provider in LIMEN_UPSTREAM_PROVIDERS, or check the suffix."
        else:
            hint = "remove it (see docs/operations.md for every setting)."
        found.append(f"{name} is not a Limen setting: {hint}")
    return found


def multi_host_url(url: str) -> str:
    """A libpq multi-host URL (``postgresql://u@primary:5432,replica:5432/limen``, as Patroni
    and managed PostgreSQL hand out) in the form SQLAlchemy understands (one ``host=`` query
    parameter per host). With several hosts, only a primary is acceptable
    (``target_session_attrs=read-write``) unless the URL says otherwise: after a failover
    libpq tries the hosts in turn and connects to the one that takes writes. Other URLs are
    returned unchanged."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith("postgresql"):
        return url
    authority, _, tail = rest.partition("/")
    credentials, at, hosts = authority.rpartition("@")
    if "," not in hosts:
        return url
    path, question, query = tail.partition("?")
    params = [p for p in query.split("&") if p] if question else []
    params += [f"host={h}" for h in hosts.split(",") if h]
    if not any(p.startswith("target_session_attrs=") for p in params):
        params.append("target_session_attrs=read-write")
    return f"{scheme}://{credentials}{at}/{path}?{'&'.join(params)}"


def _masked(name: str, value: object) -> str:
    if isinstance(value, SecretStr):
        return "********" if value.get_secret_value() else ""
    text = "" if value is None else str(value)
    if name.endswith("_URL") and "@" in text:
        scheme, _, rest = text.partition("://")
        credentials, _, host = rest.rpartition("@")
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:********@{host}" if ":" in credentials else text
    return text


def effective_settings(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value) for every setting in force, secrets and URL passwords masked."""
    rows = []
    for field in Settings.model_fields:
        if field in ("jobs", "mail", "upstream"):
            continue
        rows.append((f"LIMEN_{field.upper()}", _masked(field.upper(), getattr(settings, field))))
    rows.append((UPSTREAM_PREFIX + "PROVIDERS", ",".join(p.name for p in settings.upstream)))
    for field in JobSettings.model_fields:
        rows.append((f"LIMEN_{field.upper()}", str(getattr(settings.jobs, field))))
    for field in MailSettings.model_fields:
        value = getattr(settings.mail, field)
        rows.append((f"LIMEN_{field.upper()}", _masked(field.upper(), value)))
    github_only = ("api_url", "allowed_orgs")
    for provider in settings.upstream:
        for field in UpstreamSettings.model_fields:
            if field == "name" or (field in github_only and provider.kind != "github"):
                continue
            value = getattr(provider, field)
            if isinstance(value, dict):
                value = ",".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, frozenset):
                value = ",".join(sorted(value))
            rows.append((variable_for(provider, field), _masked(field.upper(), value)))
    return rows
