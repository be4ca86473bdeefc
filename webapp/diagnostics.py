"""`limen-server check`: every problem with the deployment, each with what to do."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from redis.sentinel import MasterNotFoundError
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session as DbSession

from webapp import connections
from webapp.identity.crypto import derive_fernet
from webapp.identity.signing_keys import KeyRing
from webapp.settings import Settings


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _schema_heads() -> set[str]:
    from webapp.extensions import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return set(ScriptDirectory.from_config(cfg).get_heads())


def check_database(settings: Settings) -> list[str]:
    url = settings.sqlalchemy_url
    shown = make_url(url).render_as_string(hide_password=True)
    args = {"connect_timeout": 3} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=args)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
            heads = _schema_heads()
            if current != heads:
                return [
                    f"Database {shown} is at schema {sorted(current) or 'empty'}, this code "
                    f"expects {sorted(heads)}: run `limen-server db upgrade`."
                ]
            return _check_keys(settings, DbSession(bind=conn))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        return [
            f"Database {shown} cannot be reached ({reason}): is the server running and "
            "LIMEN_DATABASE_URL right?"
        ]
    finally:
        engine.dispose()


def _check_keys(settings: Settings, session: DbSession) -> list[str]:
    if settings.secret_key is None:
        return []
    ring = KeyRing(
        session,
        derive_fernet(settings.secret_key_value(), b"signing-keys"),
        lambda: datetime.now(UTC),
    )
    bad = ring.check_decryptable()
    if bad:
        return [
            f"Signing key(s) {', '.join(bad)} cannot be decrypted with this LIMEN_SECRET_KEY: "
            "every node must use the same secret key (compare it with the node that created "
            "them)."
        ]
    return []


def check_redis(settings: Settings) -> list[str]:
    if not settings.redis_url:
        return []
    shown = safe_url(settings.redis_url)
    try:
        client = connections.redis_client(settings.redis_url)
        client.ping()
        client.close()
    except ValueError:
        return []  # settings.problems() already explains the malformed URL
    except MasterNotFoundError as exc:
        return [
            f"No Sentinel in {shown} names a live master ({exc}): check the master name "
            "against `sentinel monitor <name> ...` and that the Sentinels are reachable."
        ]
    except redis.exceptions.ConnectionError as exc:
        return [f"Redis at {shown} refused the connection: is redis-server running? ({exc})"]
    except redis.exceptions.RedisError as exc:
        return [f"Redis at {shown} answered with an error ({exc}): check the URL and password."]
    return []


def _answers(host: str, port: int, auth: dict[str, str]) -> bool:
    probe = redis.Redis(host=host, port=port, socket_connect_timeout=1, socket_timeout=1, **auth)
    try:
        return bool(probe.ping())
    except redis.exceptions.RedisError:
        return False
    finally:
        probe.close()


def redis_topology(settings: Settings) -> list[str]:
    """What `check` says about where Redis is: one server, or Sentinel's master and how many
    of the Sentinels answered (a quorum needs most of them)."""
    if not settings.redis_url:
        return ["Redis: embedded in-process stand-in (development only)"]
    try:
        target = settings.redis_sentinel
    except ValueError:
        return []  # settings.problems() explains it
    if target is None:
        return [f"Redis: one server at {safe_url(settings.redis_url)} (no failover)"]
    answered = sum(_answers(host, port, target.auth()) for host, port in target.sentinels)
    client = connections.redis_client(settings.redis_url)
    try:
        master = connections.current_master(client)
        where = f"{master[0]}:{master[1]}" if master else "unknown"
    except redis.exceptions.RedisError as exc:
        where = f"not found ({type(exc).__name__})"
    finally:
        client.close()
    return [
        f"Redis: Sentinel master {target.master!r} at {where}, database {target.db}; "
        f"{answered} of {len(target.sentinels)} Sentinels answered"
    ]


MAX_CLOCK_SKEW = 2.0


def check_clock(settings: Settings) -> list[str]:
    """Token expiry, lockouts and rate windows assume every node agrees on the time."""
    if not settings.redis_url:
        return []
    try:
        client = connections.redis_client(settings.redis_url)
        seconds, micros = client.time()
        client.close()
    except (redis.exceptions.RedisError, ValueError):
        return []  # check_redis already explains why Redis cannot be reached
    skew = time.time() - (seconds + micros / 1e6)
    if abs(skew) > MAX_CLOCK_SKEW:
        return [
            f"This host's clock is {skew:+.1f} s off Redis's: token expiry, lockouts and rate "
            "limits need agreeing clocks; enable NTP (e.g. systemd-timesyncd) on every node."
        ]
    return []


def check_issuer(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, warnings) about whether LIMEN_ISSUER is the URL clients reach."""
    url = f"{settings.issuer}/.well-known/oauth-authorization-server"
    try:
        answer = httpx.get(url, timeout=3).json()
    except (httpx.HTTPError, ValueError):
        return [], [
            f"Could not reach {url} from here; make sure clients reach Limen at "
            "exactly LIMEN_ISSUER, or tokens' iss will not match."
        ]
    seen = answer.get("issuer") if isinstance(answer, dict) else None
    if seen != settings.issuer:
        return [
            f"The server at LIMEN_ISSUER={settings.issuer} says its issuer is {seen!r}: clients "
            "would reject its tokens (iss mismatch). Give every node the URL clients use."
        ], []
    return [], []


def check_cookies(settings: Settings) -> list[str]:
    """Warnings about cookies a browser will refuse on this origin."""
    if settings.cookie_secure and settings.issuer.startswith("http://"):
        return [
            f"Cookies are Secure (and __Host- prefixed) but LIMEN_ISSUER={settings.issuer} is "
            "http: browsers other than Chrome and Firefox on localhost will drop them and the "
            "portal cannot sign anyone in. Serve https, or set LIMEN_COOKIE_SECURE=false for "
            "local http."
        ]
    return []


def check_mail(settings: Settings) -> tuple[list[str], list[str]]:
    """(problems, warnings) about mail: a deployment that must send links but cannot."""
    delivery = settings.mail.delivery(not settings.is_production)
    if delivery != "off":
        return [], []
    if settings.mail.email_verification_required:
        return [
            "LIMEN_EMAIL_VERIFICATION_REQUIRED=true but LIMEN_SMTP_URL is unset: nobody could "
            "confirm an address, so nobody could sign in. Set LIMEN_SMTP_URL (docs/email.md)."
        ], []
    return [], [
        "LIMEN_SMTP_URL is unset: Limen sends no mail (no password resets, no address "
        "confirmation, no security notices). Set it, e.g. smtp://user:password@mail:587, "
        "and try it with `limen-server send-test-mail you@example.com`."
    ]


def check_peers(settings: Settings, peers: list[str]) -> list[str]:
    """Compare the key ids this node's database publishes with each peer's JWKS."""
    if not peers:
        return []
    try:
        ours = published_kids(settings)
    except Exception:  # the database check already says why
        return []
    found = []
    for peer in peers:
        url = peer.rstrip("/") + "/oauth/jwks"
        try:
            theirs = {k.get("kid") for k in httpx.get(url, timeout=3).json().get("keys", [])}
        except (httpx.HTTPError, ValueError, AttributeError) as exc:
            found.append(f"Peer {peer} did not answer its JWKS ({type(exc).__name__}).")
            continue
        if theirs != ours:
            found.append(
                f"Peer {peer} publishes key ids {sorted(theirs)} but this node's database has "
                f"{sorted(ours)}: the nodes use different databases (or one rotated and the "
                "other did not see it). Tokens from one would fail on the other with "
                "'unknown key id'."
            )
    return found


def published_kids(settings: Settings) -> set[str]:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT kid FROM signing_keys WHERE state IN ('next', 'active', 'retiring')")
            )
            return {row[0] for row in rows}
    finally:
        engine.dispose()


def run_checks(settings: Settings, peers: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(problems, warnings): problems fail the check, warnings are worth reading."""
    issuer_problems, issuer_warnings = check_issuer(settings)
    mail_problems, mail_warnings = check_mail(settings)
    problems = [
        *settings.problems(),
        *check_database(settings),
        *check_redis(settings),
        *check_clock(settings),
        *issuer_problems,
        *mail_problems,
        *check_peers(settings, peers or []),
    ]
    return problems, [*issuer_warnings, *check_cookies(settings), *mail_warnings]
