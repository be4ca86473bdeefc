"""The verification cache's rules, on its own: bounded by exp and max age, only while live,
emptied by invalidation, and never refilled by a verification that began before it."""

from __future__ import annotations

from webapp.identity.principal import Principal
from webapp.identity.verify_cache import LIVENESS_SECONDS, VerificationCache

PRINCIPAL = Principal(
    sub="u1",
    roles=("analyst",),
    scopes=frozenset({"profile"}),
    auth_method="password",
    credential="access_token",
)


class Clocks:
    def __init__(self) -> None:
        self.wall = 1_000_000.0
        self.mono = 50.0

    def cache(self, size: int = 100, max_age: float = 30) -> VerificationCache:
        return VerificationCache(size, max_age, now=lambda: self.wall, monotonic=lambda: self.mono)


def test_nothing_is_kept_until_the_listener_marks_the_cache_live():
    clocks = Clocks()
    cache = clocks.cache()
    key = cache.key("token", "bearer")
    cache.put(key, PRINCIPAL, None, cache.epoch)
    assert cache.get(key) is None and len(cache) == 0
    cache.mark_live()
    cache.put(key, PRINCIPAL, None, cache.epoch)
    assert cache.get(key) is PRINCIPAL


def test_a_silent_listener_switches_the_cache_off():
    clocks = Clocks()
    cache = clocks.cache()
    cache.mark_live()
    key = cache.key("token", "bearer")
    cache.put(key, PRINCIPAL, None, cache.epoch)
    clocks.mono += LIVENESS_SECONDS + 0.1  # the listener thread stopped marking it live
    assert cache.get(key) is None
    cache.mark_live()
    cache.mark_down()  # lost Redis: off, and emptied
    clocks.mono += 0
    assert cache.get(key) is None and len(cache) == 0


def test_never_past_the_credentials_end_nor_max_age():
    clocks = Clocks()
    cache = clocks.cache(max_age=30)
    cache.mark_live()
    short, long = cache.key("short", "bearer"), cache.key("long", "bearer")
    cache.put(short, PRINCIPAL, clocks.wall + 5, cache.epoch)  # exp in 5 s
    cache.put(long, PRINCIPAL, clocks.wall + 3600, cache.epoch)  # exp in an hour
    clocks.wall += 4.9
    assert cache.get(short) is PRINCIPAL
    clocks.wall += 0.2
    assert cache.get(short) is None  # at exp the token is verified again (and rejected)
    clocks.wall += 24.8
    assert cache.get(long) is PRINCIPAL
    clocks.wall += 0.2
    assert cache.get(long) is None  # max age: a missed invalidation heals
    expired = cache.key("expired", "bearer")
    cache.put(expired, PRINCIPAL, clocks.wall - 1, cache.epoch)
    assert cache.get(expired) is None


def test_invalidation_empties_and_voids_fills_that_began_before_it():
    clocks = Clocks()
    cache = clocks.cache()
    cache.mark_live()
    key = cache.key("token", "bearer")
    cache.put(key, PRINCIPAL, None, cache.epoch)
    began = cache.epoch  # a verification reads the session record...
    cache.clear()  # ...the session is revoked and every cache emptied...
    cache.put(key, PRINCIPAL, None, began)  # ...and its stale success must not be stored
    assert cache.get(key) is None
    cache.put(key, PRINCIPAL, None, cache.epoch)
    assert cache.get(key) is PRINCIPAL


def test_the_source_is_part_of_the_key_and_size_is_bounded():
    clocks = Clocks()
    cache = clocks.cache(size=16)
    cache.mark_live()
    assert cache.key("t", "bearer") != cache.key("t", "cookie")
    for i in range(100):
        cache.put(cache.key(f"t{i}", "bearer"), PRINCIPAL, None, cache.epoch)
    assert len(cache) <= 16
    assert cache.get(cache.key("t99", "bearer")) is PRINCIPAL  # newest kept, oldest dropped
    assert cache.get(cache.key("t0", "bearer")) is None


def test_memo_follows_the_same_rules():
    clocks = Clocks()
    cache = clocks.cache(max_age=30)
    loads: list[int] = []

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert cache.memo("p", load) == 1 and cache.memo("p", load) == 2  # not live: no memory
    cache.mark_live()
    assert cache.memo("p", load) == 3 and cache.memo("p", load) == 3
    cache.clear()
    assert cache.memo("p", load) == 4
    clocks.wall += 31
    assert cache.memo("p", load) == 5


def test_size_zero_turns_it_off():
    clocks = Clocks()
    cache = clocks.cache(size=0)
    cache.mark_live()
    assert not cache.live


class SessionRecords:
    """What the session store answers (a set of live sids), counting the reads."""

    def __init__(self, *live: str) -> None:
        self.live = set(live)
        self.reads = 0

    def exists(self, sid: str) -> bool:
        self.reads += 1
        return sid in self.live


def test_a_session_is_checked_once_per_process_until_max_age():
    clocks = Clocks()
    cache = clocks.cache(max_age=30)
    cache.mark_live()
    records = SessionRecords("s1")
    assert [cache.session_live("s1", records.exists) for _ in range(5)] == [True] * 5
    assert records.reads == 1
    clocks.wall += 30.1  # max age: checked again
    assert cache.session_live("s1", records.exists) and records.reads == 2


def test_invalidation_forgets_live_sessions_and_gone_ones_are_never_kept():
    clocks = Clocks()
    cache = clocks.cache()
    cache.mark_live()
    records = SessionRecords("s1")
    assert cache.session_live("s1", records.exists)
    records.live.discard("s1")  # logout deletes the record, then broadcasts
    cache.clear()
    assert cache.session_live("s1", records.exists) is False
    assert cache.session_live("s1", records.exists) is False
    assert records.reads == 3  # a gone session is read every time, never remembered


def test_a_session_check_racing_an_invalidation_is_not_kept():
    clocks = Clocks()
    cache = clocks.cache()
    cache.mark_live()
    records = SessionRecords("s1")

    def slow_exists(sid: str) -> bool:
        alive = records.exists(sid)  # read before the record went away ...
        cache.clear()  # ... and the broadcast arrived before the fill
        return alive

    assert cache.session_live("s1", slow_exists) is True
    records.live.discard("s1")
    assert cache.session_live("s1", records.exists) is False


def test_no_session_is_remembered_while_the_cache_is_not_live():
    clocks = Clocks()
    cache = clocks.cache()
    records = SessionRecords("s1")
    assert cache.session_live("s1", records.exists) and cache.session_live("s1", records.exists)
    assert records.reads == 2
