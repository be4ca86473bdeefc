"""Private files: atomic 0600 writes (no window where others can read) and ssh-style checks."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from .errors import InsecureFile

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
POSIX = os.name == "posix"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents with mode 0700; existing dirs are left alone."""
    missing = [p for p in (path, *path.parents) if not p.is_dir()]
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        if POSIX:
            os.chmod(directory, PRIVATE_DIR)  # mkdir's mode is filtered by the umask
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; the file is 0600 from its first byte.

    A temp file in the same directory is created with O_CREAT|O_EXCL and mode 0600 (a umask
    can only remove bits), filled, fsynced, then renamed over ``path``.
    """
    ensure_private_dir(path.parent)
    tmp = path.parent / f".{path.name}.{os.urandom(6).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, PRIVATE_FILE)
    try:
        try:
            if POSIX:
                os.fchmod(fd, PRIVATE_FILE)  # exact mode whatever the umask removed
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    if not POSIX:
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_private(path: Path) -> bytes | None:
    """The bytes of a secret file, or None if it does not exist; refuses loose permissions."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InsecureFile(
            f"Cannot open {path} ({exc.strerror}).",
            "It must be a regular file (not a symlink) owned by you; remove it and log in again.",
        ) from exc
    with os.fdopen(fd, "rb") as handle:
        check_private(path, os.fstat(handle.fileno()))
        return handle.read()


def check_private(path: Path, st: os.stat_result) -> None:
    """Raise InsecureFile unless ``st`` is a regular file owned by us with no group/other bits."""
    if not POSIX:
        return
    if not stat.S_ISREG(st.st_mode):
        raise InsecureFile(f"{path} is not a regular file; refusing to read credentials from it.")
    if st.st_uid != os.getuid():
        raise InsecureFile(
            f"{path} belongs to another user (uid {st.st_uid}); refusing to read it.",
            f"Remove it, or fix the owner: chown {os.getuid()} {path}",
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise InsecureFile(
            f"Permissions {mode:04o} for {path} are too open: others could read your tokens, "
            "so limen refuses to use it.",
            f"Run: chmod 600 {path}  (and consider `limen logout` + `limen login` if it was "
            "exposed).",
        )
