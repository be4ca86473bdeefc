"""The file store: 0600 from the first byte whatever the umask, atomic, refused when loose."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cli_plugins.credentials import FileStore
from cli_plugins.errors import InsecureFile, StorageError
from cli_plugins.files import write_private

from .conftest import make_credentials


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o077, 0o022, 0o000])
def test_file_is_created_0600_whatever_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        store = FileStore(tmp_path / "new-dir" / "credentials.json")
        store.save("default", make_credentials())
    finally:
        os.umask(old)
    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700


def test_write_is_atomic_and_leaves_no_temp_file(tmp_path):
    target = tmp_path / "credentials.json"
    write_private(target, b"one")
    write_private(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]


def test_profiles_live_side_by_side(file_store):
    file_store.save("work", make_credentials(email="w@example.com"))
    file_store.save("home", make_credentials(email="h@example.com"))
    loaded_work, loaded_home = file_store.load("work"), file_store.load("home")
    assert loaded_work is not None and loaded_work.email == "w@example.com"
    assert loaded_home is not None and loaded_home.email == "h@example.com"
    assert file_store.delete("work") is True
    assert file_store.load("work") is None
    assert file_store.delete("work") is False


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604])
def test_loose_permissions_are_refused_with_the_fix(file_store, loose):
    file_store.save("default", make_credentials())
    os.chmod(file_store.path, loose)
    with pytest.raises(InsecureFile) as caught:
        file_store.load("default")
    assert f"chmod 600 {file_store.path}" in caught.value.render()
    assert f"{loose:04o}" in caught.value.message


def test_symlinked_file_is_refused(file_store, tmp_path):
    real = tmp_path / "elsewhere.json"
    write_private(real, b"{}")
    file_store.path.parent.mkdir(parents=True, exist_ok=True)
    file_store.path.symlink_to(real)
    with pytest.raises(InsecureFile):
        file_store.load("default")


def test_corrupt_file_says_what_to_do(file_store):
    write_private(file_store.path, b"{not json")
    with pytest.raises(StorageError) as caught:
        file_store.load("default")
    assert "corrupt" in caught.value.message
    assert "limen login" in caught.value.render()


def test_nothing_stored_is_none(file_store):
    assert file_store.load("default") is None
