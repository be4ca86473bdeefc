"""Profiles and non-secret settings (config.toml), and their precedence:
flags > environment > profile > defaults."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs
import tomli_w

from .errors import UsageError
from .files import write_private

DEFAULT_SERVER = "http://127.0.0.1:5000"
DEFAULT_PROFILE = "default"
PROFILE_FILE = ".limen-profile"
PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
STORAGE_CHOICES = ("keyring", "file")
# The only keys a profile may hold: config.toml never holds a secret.
PROFILE_KEYS = frozenset({"server", "provider", "storage", "user", "client_id"})
SECRET_LOOKING = re.compile(r"^(limen_|eyJ)")


def config_dir(env: Mapping[str, str]) -> Path:
    """LIMEN_CONFIG_DIR, else the platform's user config dir for "limen"."""
    override = env.get("LIMEN_CONFIG_DIR")
    return Path(override).expanduser() if override else Path(platformdirs.user_config_dir("limen"))


def check_profile_name(name: str, source: str = "--profile") -> str:
    if not PROFILE_NAME.match(name):
        raise UsageError(
            f"Invalid profile name {name!r} (from {source}).",
            "Use letters, digits, '.', '_' or '-' (at most 64 characters).",
        )
    return name


def normalize_server(url: str, source: str = "--server") -> str:
    """A base URL without trailing slash; http only for loopback hosts."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"Invalid server URL {url!r} (from {source}).",
            "Give the base URL of the Limen server, e.g. https://id.example.com",
        )
    if parts.query or parts.fragment:
        raise UsageError(f"The server URL {url!r} (from {source}) must not have a query.")
    return url


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def same_server(a: str, b: str) -> bool:
    """True for the same base URL, counting localhost, 127.0.0.1 and [::1] as one host."""
    if a.rstrip("/") == b.rstrip("/"):
        return True
    pa, pb = urlsplit(a), urlsplit(b)
    return (
        pa.hostname in LOOPBACK_NAMES
        and pb.hostname in LOOPBACK_NAMES
        and (pa.scheme, pa.port, pa.path.rstrip("/")) == (pb.scheme, pb.port, pb.path.rstrip("/"))
    )


@dataclass
class Config:
    """The parsed config.toml: a default profile and one table per profile."""

    path: Path
    default_profile: str | None = None
    profiles: dict[str, dict[str, str]] = field(default_factory=dict)
    disabled_plugins: list[str] = field(default_factory=list)
    registries: dict[str, str] = field(default_factory=dict)  # docker registry -> profile

    @classmethod
    def load(cls, directory: Path) -> Config:
        path = directory / "config.toml"
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"{path} is not valid TOML ({exc}).", "Fix or delete the file; it holds no secret."
            ) from exc
        profiles = {
            str(name): {k: str(v) for k, v in table.items() if k in PROFILE_KEYS}
            for name, table in dict(raw.get("profiles", {})).items()
            if isinstance(table, dict)
        }
        default = raw.get("default_profile")
        disabled = raw.get("disabled_plugins", [])
        disabled = [str(name) for name in disabled] if isinstance(disabled, list) else []
        registries = raw.get("registries", {})
        registries = (
            {str(k): str(v) for k, v in registries.items()} if isinstance(registries, dict) else {}
        )
        return cls(path, str(default) if default else None, profiles, disabled, registries)

    def profile(self, name: str) -> dict[str, str]:
        return dict(self.profiles.get(name, {}))

    def update_profile(self, name: str, **values: str | None) -> None:
        """Set (or, with None, remove) keys of a profile; refuses anything secret-looking."""
        table = self.profiles.setdefault(name, {})
        for key, value in values.items():
            if key not in PROFILE_KEYS:
                raise ValueError(f"{key!r} is not a profile setting")
            if value is None:
                table.pop(key, None)
            elif SECRET_LOOKING.match(value):
                raise ValueError(f"refusing to write a secret-looking value for {key!r}")
            else:
                table[key] = value

    def remove_profile(self, name: str) -> None:
        self.profiles.pop(name, None)
        if self.default_profile == name:
            self.default_profile = None

    def save(self) -> None:
        doc: dict[str, Any] = {}
        if self.default_profile:
            doc["default_profile"] = self.default_profile
        if self.disabled_plugins:
            doc["disabled_plugins"] = sorted(set(self.disabled_plugins))
        if self.registries:
            doc["registries"] = dict(sorted(self.registries.items()))
        doc["profiles"] = {
            name: dict(sorted(t.items())) for name, t in sorted(self.profiles.items())
        }
        write_private(self.path, tomli_w.dumps(doc).encode())


@dataclass(frozen=True)
class Flags:
    """What the command line said (None: not given)."""

    profile: str | None = None
    server: str | None = None
    storage: str | None = None
    provider: str | None = None


@dataclass(frozen=True)
class Settings:
    """Resolved settings, each with where it came from (shown by `limen status`)."""

    config_dir: Path
    profile: str
    profile_source: str
    server: str
    server_source: str
    storage: str | None  # None: automatic (keyring when usable, else file)
    storage_source: str
    provider: str | None
    provider_source: str


def find_profile_file(cwd: Path) -> Path | None:
    """The nearest .limen-profile in ``cwd`` or a parent."""
    for directory in (cwd, *cwd.parents):
        candidate = directory / PROFILE_FILE
        if candidate.is_file():
            return candidate
    return None


def read_profile_file(path: Path) -> str:
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            return check_profile_name(line, str(path))
    raise UsageError(f"{path} names no profile.", "Put a profile name on its first line.")


def _pick(*candidates: tuple[str | None, str]) -> tuple[str | None, str]:
    """The first candidate with a value, as (value, source)."""
    for value, source in candidates:
        if value:
            return value, source
    return None, "automatic"


def resolve(flags: Flags, env: Mapping[str, str], cwd: Path, config: Config) -> Settings:
    """Apply the precedence rules; see docs/cli.md "Precedence"."""
    if flags.profile is not None:
        check_profile_name(flags.profile)
    profile_file = find_profile_file(cwd)
    file_profile = read_profile_file(profile_file) if profile_file else None
    profile, profile_source = _pick(
        (flags.profile, "--profile"),
        (env.get("LIMEN_PROFILE"), "LIMEN_PROFILE"),
        (file_profile, str(profile_file)),
        (config.default_profile, f"default_profile in {config.path}"),
        (DEFAULT_PROFILE, "default"),
    )
    assert profile is not None
    check_profile_name(profile, profile_source)
    stored = config.profile(profile)
    where = f"profile {profile!r}"
    server, server_source = _pick(
        (flags.server, "--server"),
        (env.get("LIMEN_SERVER"), "LIMEN_SERVER"),
        (stored.get("server"), where),
        (DEFAULT_SERVER, "default"),
    )
    assert server is not None
    storage, storage_source = _pick(
        (flags.storage, "--storage"),
        (env.get("LIMEN_STORAGE"), "LIMEN_STORAGE"),
        (stored.get("storage"), where),
    )
    if storage is not None and storage not in STORAGE_CHOICES:
        raise UsageError(
            f"Unknown storage {storage!r} (from {storage_source}).",
            f"Choose one of: {', '.join(STORAGE_CHOICES)}.",
        )
    provider, provider_source = _pick(
        (flags.provider, "command line"),
        (env.get("LIMEN_PROVIDER"), "LIMEN_PROVIDER"),
        (stored.get("provider"), where),
    )
    return Settings(
        config_dir=config.path.parent,
        profile=profile,
        profile_source=profile_source,
        server=normalize_server(server, server_source),
        server_source=server_source,
        storage=storage,
        storage_source=storage_source,
        provider=provider,
        provider_source=provider_source,
    )
