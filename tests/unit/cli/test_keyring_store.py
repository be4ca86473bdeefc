"""The keyring store, with a tiny in-memory backend selected through PYTHON_KEYRING_BACKEND
(the same way a user selects a backend), and detection of unusable backends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import keyring
import keyring.core
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null

from cli_plugins.credentials import FileStore, KeyringStore, keyring_status, open_store
from cli_plugins.errors import UsageError

from .conftest import make_credentials

BACKEND = f"{__name__}.MemoryKeyring"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in this process only."""

    priority: ClassVar[float] = 1  # type: ignore[misc]
    entries: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.entries.pop((service, username), None)


@pytest.fixture
def memory_keyring(config_dir, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[MemoryKeyring]]:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", BACKEND)
    keyring.core.init_backend()
    MemoryKeyring.entries.clear()
    try:
        yield MemoryKeyring
    finally:
        monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
        keyring.core.init_backend()


def test_usable_backend_is_chosen_automatically(memory_keyring, config_dir):
    store, note = open_store(None, config_dir)
    assert isinstance(store, KeyringStore) and note is None
    assert BACKEND in store.location()


def test_keyring_round_trip_writes_no_file(memory_keyring, config_dir):
    store, _ = open_store(None, config_dir)
    store.save("work", make_credentials())
    loaded = store.load("work")
    assert loaded is not None and loaded.refresh_token == "limen_rt_refresh-one"
    assert ("limen", "work") in memory_keyring.entries
    assert not (config_dir / "credentials.json").exists()
    assert store.delete("work") is True
    assert store.load("work") is None


def test_storage_file_forces_the_file_even_with_a_keyring(memory_keyring, config_dir):
    store, _ = open_store("file", config_dir)
    assert isinstance(store, FileStore)


@pytest.mark.parametrize(
    "backend",
    [fail.Keyring(), null.Keyring()],
    ids=["fail", "null"],
)
def test_fail_and_null_backends_are_unusable(monkeypatch, backend):
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    assert keyring_status()[0] is None


def test_chainer_with_nothing_to_chain_is_unusable(monkeypatch):
    monkeypatch.setattr(chainer.ChainerBackend, "backends", [])
    monkeypatch.setattr(keyring, "get_keyring", chainer.ChainerBackend)
    assert keyring_status()[0] is None


def test_unusable_keyring_falls_back_to_the_file_and_says_so(config_dir):
    store, note = open_store(None, config_dir)
    assert isinstance(store, FileStore)
    assert note is not None and str(config_dir / "credentials.json") in note


def test_forcing_an_unusable_keyring_is_a_usage_error(config_dir):
    with pytest.raises(UsageError, match="--storage keyring"):
        open_store("keyring", config_dir)
