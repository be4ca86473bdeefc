"""Where Redis is: one server (``redis://``, ``rediss://``, ``unix://``) or a master found
through Redis Sentinel (``redis+sentinel://``), read from ``LIMEN_REDIS_URL``.

The Sentinel form is the one flask-limiter (the ``limits`` library) also understands, plus an
optional database number::

    redis+sentinel://[[user]:password@]host:port[,host:port...]/master-name[/db]

The password (and user) authenticate to the Sentinels and to the Redis servers alike, as
``limits`` does; nothing else may follow (no query), so a typo cannot be silently ignored.
Redis Cluster (``redis+cluster://``) is not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

SENTINEL_SCHEME = "redis+sentinel"
PLAIN_SCHEMES = ("redis", "rediss", "unix")
DEFAULT_SENTINEL_PORT = 26379
_MASTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_EXAMPLE = "e.g. redis+sentinel://10.0.0.1:26379,10.0.0.2:26379,10.0.0.3:26379/limen/0"


@dataclass(frozen=True)
class SentinelTarget:
    """A master known to Sentinel: the Sentinels to ask, the master's name, the database."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None

    def limits_uri(self) -> str:
        """The URI flask-limiter's ``limits`` storage takes: the same, without the database
        (``limits`` reads the master name from the whole path; the database is an option)."""
        auth = ""
        if self.password is not None or self.username is not None:
            auth = f"{self.username or ''}:{self.password or ''}@"
        hosts = ",".join(_host_port(h, p) for h, p in self.sentinels)
        return f"{SENTINEL_SCHEME}://{auth}{hosts}/{self.master}"

    def auth(self) -> dict[str, str]:
        """The keyword arguments that authenticate (to the Sentinels and the servers)."""
        found = {}
        if self.username:
            found["username"] = self.username
        if self.password is not None:
            found["password"] = self.password
        return found


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """The Sentinel target of ``url``, or None for a plain Redis URL.

    Raises ValueError, saying what is wrong and what a good URL looks like, for an unknown
    scheme or a malformed Sentinel URL (no hosts, a bad port, no master name, a query)."""
    scheme, sep, _ = url.partition("://")
    if not sep:
        raise ValueError(f"LIMEN_REDIS_URL has no scheme: use redis://host:6379/0 or {_EXAMPLE}")
    scheme = scheme.lower()
    if scheme in PLAIN_SCHEMES:
        return None
    if scheme != SENTINEL_SCHEME:
        cluster = " (Redis Cluster is not supported)" if "cluster" in scheme else ""
        raise ValueError(
            f"LIMEN_REDIS_URL scheme {scheme!r} is not supported{cluster}: use redis://, "
            f"rediss://, unix:// or {SENTINEL_SCHEME}:// ({_EXAMPLE})"
        )
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(
            "LIMEN_REDIS_URL: a Sentinel URL takes no query or fragment; "
            f"write it as {SENTINEL_SCHEME}://host:port,host:port/master-name/db"
        )
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    sentinels = tuple(_sentinel_address(item) for item in hostlist.split(","))
    segments = [s for s in parts.path.split("/") if s != ""] if parts.path else []
    if not segments or len(segments) > 2:
        raise ValueError(
            "LIMEN_REDIS_URL: a Sentinel URL names the master after the hosts, and optionally "
            f"the database: {SENTINEL_SCHEME}://host:port,.../master-name[/db] ({_EXAMPLE})"
        )
    master = unquote(segments[0])
    if not _MASTER_NAME.match(master):
        raise ValueError(
            f"LIMEN_REDIS_URL: {master!r} is not a Sentinel master name (letters, digits, "
            "'.', '_' and '-', at most 64): use the name in your sentinel.conf `sentinel "
            "monitor <name> ...` line"
        )
    db = 0
    if len(segments) == 2:
        if not segments[1].isdigit() or int(segments[1]) > 10_000:
            raise ValueError(
                f"LIMEN_REDIS_URL: the database {segments[1]!r} after the master name must be "
                "a number, e.g. /limen/0"
            )
        db = int(segments[1])
    username: str | None = None
    password: str | None = None
    if userinfo:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    return SentinelTarget(sentinels, master, db, username, password)


def _sentinel_address(item: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):
        host, _, rest = item[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = item.partition(":")
    if not host or any(c in host for c in "/ @?#[]"):
        raise ValueError(
            f"LIMEN_REDIS_URL: {item!r} is not a Sentinel address: list them as host:port "
            f"separated by commas ({_EXAMPLE})"
        )
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(
            f"LIMEN_REDIS_URL: {port_text!r} is not a port (Sentinel address {item!r}); "
            f"Sentinels usually listen on {DEFAULT_SENTINEL_PORT}"
        )
    return host, int(port_text)
