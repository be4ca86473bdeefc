"""The credential store: the OS keyring when a usable backend exists, else a 0600 JSON file."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import StorageError, UsageError
from .files import ensure_private_dir, read_private, write_private

if TYPE_CHECKING:  # keyring and filelock load when credentials are first read or written
    import keyring.backend
    from filelock import FileLock

KEYRING_SERVICE = "limen"
LOCK_TIMEOUT = 60.0
SECRET_FIELDS = ("access_token", "refresh_token")


@dataclass
class Credentials:
    """What one profile is logged in with. ``kind``: oauth, client_credentials, api_key, or a
    plugin's own kind."""

    kind: str
    provider: str
    server: str
    access_token: str
    token_type: str = "Bearer"  # noqa: S105 (the OAuth token type, not a secret)
    refresh_token: str | None = None
    expires_at: float | None = None  # epoch seconds, by the local clock at receipt
    obtained_at: float | None = None
    scope: str = ""
    client_id: str | None = None
    subject: str | None = None
    email: str | None = None
    session_id: str | None = None

    @classmethod
    def from_token_response(
        cls, body: dict[str, Any], *, provider: str, server: str, kind: str = "oauth", **extra: Any
    ) -> Credentials:
        """From an RFC 6749 token response; expiry uses our clock, so skew does not matter."""
        now = time.time()
        expires_in = body.get("expires_in")
        return cls(
            kind=kind,
            provider=provider,
            server=server,
            access_token=str(body["access_token"]),
            token_type=str(body.get("token_type") or "Bearer"),
            refresh_token=body.get("refresh_token"),
            expires_at=now + float(expires_in) if expires_in is not None else None,
            obtained_at=now,
            scope=str(body.get("scope") or ""),
            session_id=body.get("session_id"),
            **extra,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Credentials:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def refresh_margin(self) -> float:
        """Refresh this long before expiry: 60 s, or 10% of the lifetime if that is shorter."""
        if self.expires_at is None or self.obtained_at is None:
            return 60.0
        return min(60.0, max(0.0, (self.expires_at - self.obtained_at) * 0.1))

    def needs_refresh(self, now: float | None = None) -> bool:
        if self.expires_at is None:
            return False
        return (now or time.time()) >= self.expires_at - self.refresh_margin()

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) >= self.expires_at

    @property
    def renewable(self) -> bool:
        return bool(self.refresh_token) or self.kind == "client_credentials"


class CredentialStore(Protocol):
    """Where a profile's Credentials live."""

    name: str

    def load(self, profile: str) -> Credentials | None: ...
    def save(self, profile: str, credentials: Credentials) -> None: ...
    def delete(self, profile: str) -> bool: ...
    def location(self) -> str: ...


class FileStore:
    """credentials.json (mode 0600, written atomically), one entry per profile."""

    name = "file"

    def __init__(self, path: Path) -> None:
        from filelock import FileLock

        self.path = path
        self._lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT, mode=0o600)

    def location(self) -> str:
        return f"file {self.path}"

    def _read(self) -> dict[str, Any]:
        raw = read_private(self.path)
        if raw is None:
            return {"version": 1, "profiles": {}}
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise StorageError(
                f"{self.path} is corrupt ({exc}).", "Delete it and run `limen login` again."
            ) from exc
        data.setdefault("profiles", {})
        return dict(data)

    def load(self, profile: str) -> Credentials | None:
        entry = self._read()["profiles"].get(profile)
        return Credentials.from_dict(entry) if entry else None

    def save(self, profile: str, credentials: Credentials) -> None:
        with self._locked():
            data = self._read()
            data["profiles"][profile] = credentials.to_dict()
            write_private(self.path, json.dumps(data, indent=2).encode())

    def delete(self, profile: str) -> bool:
        with self._locked():
            data = self._read()
            found = data["profiles"].pop(profile, None) is not None
            if found:
                write_private(self.path, json.dumps(data, indent=2).encode())
            return found

    def _locked(self) -> FileLock:
        ensure_private_dir(self.path.parent)
        return self._lock


class KeyringStore:
    """One keyring entry per profile (service "limen"), holding the JSON of its Credentials."""

    name = "keyring"

    def __init__(self, backend: keyring.backend.KeyringBackend) -> None:
        self.backend = backend

    def location(self) -> str:
        return f"OS keyring ({backend_name(self.backend)})"

    def _call(self, what: str, fn: Any, *args: str) -> Any:
        import keyring.errors

        try:
            return fn(KEYRING_SERVICE, *args)
        except keyring.errors.PasswordDeleteError:
            return False
        except keyring.errors.KeyringError as exc:
            raise StorageError(
                f"The OS keyring ({backend_name(self.backend)}) failed to {what}: {exc}",
                "Unlock the keyring, or use the file store: `limen login --storage file`.",
            ) from exc

    def load(self, profile: str) -> Credentials | None:
        raw = self._call("read credentials", self.backend.get_password, profile)
        return Credentials.from_dict(json.loads(raw)) if raw else None

    def save(self, profile: str, credentials: Credentials) -> None:
        payload = json.dumps(credentials.to_dict())
        self._call("save credentials", self.backend.set_password, profile, payload)

    def delete(self, profile: str) -> bool:
        if self.load(profile) is None:
            return False
        self._call("delete credentials", self.backend.delete_password, profile)
        return True


def backend_name(backend: object) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def keyring_status() -> tuple[keyring.backend.KeyringBackend | None, str]:
    """(backend, description); backend is None when no usable keyring exists."""
    import keyring
    from keyring.backends import chainer, fail, null

    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring config must not break the CLI
        return None, f"keyring failed to load: {exc}"
    name = backend_name(backend)
    if isinstance(backend, fail.Keyring | null.Keyring):
        return None, f"no usable OS keyring (backend {name})"
    if isinstance(backend, chainer.ChainerBackend) and not backend.backends:
        return None, "no usable OS keyring (no backend to chain)"
    return backend, name


def credentials_file(config_dir: Path) -> Path:
    return config_dir / "credentials.json"


def open_store(choice: str | None, config_dir: Path) -> tuple[CredentialStore, str | None]:
    """The store for ``choice`` (keyring, file, None = automatic) and, when the keyring was
    wanted but unusable, a note saying which file will be used instead."""
    file_store = FileStore(credentials_file(config_dir))
    if choice == "file":
        return file_store, None
    backend, description = keyring_status()
    if backend is not None:
        return KeyringStore(backend), None
    if choice == "keyring":
        raise UsageError(
            f"--storage keyring was requested but there is {description}.",
            "Install and unlock a keyring (Secret Service, macOS Keychain, Windows Credential "
            "Locker), or use --storage file.",
        )
    return file_store, (
        f"{description[0].upper()}{description[1:]}; credentials will be stored in "
        f"{file_store.path} (mode 0600)."
    )


def refresh_lock(config_dir: Path, profile: str) -> FileLock:
    """The per-profile lock that serialises refreshes across processes."""
    from filelock import FileLock

    ensure_private_dir(config_dir)
    return FileLock(
        str(config_dir / f"credentials.{profile}.lock"), timeout=LOCK_TIMEOUT, mode=0o600
    )


__all__ = [
    "SECRET_FIELDS",
    "CredentialStore",
    "Credentials",
    "FileStore",
    "KeyringStore",
    "keyring_status",
    "open_store",
    "refresh_lock",
]
