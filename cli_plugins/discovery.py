"""Server metadata (RFC 8414), cached per server for a few minutes; never hard-coded paths."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import LimenError
from .files import read_private, write_private
from .http import json_body, unreachable

if TYPE_CHECKING:
    import httpx

WELL_KNOWN = "/.well-known/oauth-authorization-server"
CACHE_SECONDS = 300
REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint")


@dataclass(frozen=True)
class Metadata:
    """The discovery document of one server, with typed access to what the CLI uses."""

    server: str
    document: dict[str, Any]

    def __getitem__(self, key: str) -> str:
        return str(self.document[key])

    def get(self, key: str) -> str | None:
        value = self.document.get(key)
        return str(value) if value else None

    def endpoint(self, key: str) -> str:
        """A required endpoint; a clear error when the server does not offer it."""
        value = self.get(key)
        if not value:
            raise LimenError(
                f"The server at {self.server} does not advertise {key} in its discovery "
                "document, so this feature is not available there."
            )
        return value

    @property
    def issuer(self) -> str:
        return self["issuer"]

    @property
    def api_base(self) -> str:
        return (self.get("limen_api_base") or f"{self.server}/api/v1").rstrip("/")

    @property
    def iss_parameter_supported(self) -> bool:
        return bool(self.document.get("authorization_response_iss_parameter_supported"))


_memory: dict[str, tuple[float, Metadata]] = {}


def _cache_path(cache_dir: Path, server: str) -> Path:
    import hashlib

    digest = hashlib.sha256(server.encode()).hexdigest()[:16]
    return cache_dir / "cache" / f"discovery-{digest}.json"


def _from_disk(path: Path, server: str) -> Metadata | None:
    try:
        raw = read_private(path)
        entry = json.loads(raw) if raw else None
    except (LimenError, ValueError):
        return None
    if not entry or entry.get("server") != server or entry.get("expires", 0) < time.time():
        return None
    return Metadata(server, dict(entry["document"]))


def discover(server: str, http: httpx.Client, cache_dir: Path | None = None) -> Metadata:
    """Fetch (or reuse a fresh cached copy of) the server's discovery document."""
    hit = _memory.get(server)
    if hit and hit[0] > time.time():
        return hit[1]
    path = _cache_path(cache_dir, server) if cache_dir else None
    metadata = _from_disk(path, server) if path else None
    if metadata is None:
        metadata = _fetch(server, http)
        if path:
            entry = {"server": server, "expires": time.time() + CACHE_SECONDS}
            write_private(path, json.dumps({**entry, "document": metadata.document}).encode())
    _memory[server] = (time.time() + CACHE_SECONDS, metadata)
    return metadata


def _fetch(server: str, http: httpx.Client) -> Metadata:
    import httpx

    url = server + WELL_KNOWN
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        raise unreachable(server, exc) from exc
    document = json_body(response)
    missing = [key for key in REQUIRED if key not in document]
    if response.status_code != 200 or missing:
        raise LimenError(
            f"{server} does not look like a Limen server: GET {url} answered HTTP "
            f"{response.status_code}" + (f" without {', '.join(missing)}." if missing else "."),
            "Check the server URL (--server, LIMEN_SERVER or the profile).",
        )
    return Metadata(server, document)
