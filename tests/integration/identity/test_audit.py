"""identity.audit: events belong to the caller's transaction; search filters and pages."""

from __future__ import annotations

from datetime import timedelta

from .conftest import META, Core


def test_an_event_is_written_only_when_the_caller_commits(core: Core) -> None:
    user = core.user()
    core.identity.audit.record("test.rolled_back", user_id=user.id, meta=META)
    core.db.rollback()
    core.identity.audit.record("test.committed", user_id=user.id, meta=META, note="kept")
    core.db.commit()

    rows, total = core.identity.audit.search(user_id=user.id, event="test.")
    assert total == 1
    assert (rows[0].event, rows[0].ip, rows[0].details) == (
        "test.committed",
        "127.0.0.1",
        {"note": "kept"},
    )


def test_search_filters_by_user_event_prefix_and_time_newest_first(core: Core) -> None:
    user, other = core.user(), core.user()
    for name in ("probe.a", "probe.b", "other.c"):
        core.identity.audit.record(name, user_id=user.id)
        core.clock.advance(1)
    core.identity.audit.record("probe.z", user_id=other.id)
    core.db.commit()

    rows, total = core.identity.audit.search(user_id=user.id, event="probe.")
    assert total == 2 and [r.event for r in rows] == ["probe.b", "probe.a"]
    since = core.clock() - timedelta(seconds=1.5)
    rows, _ = core.identity.audit.search(user_id=user.id, since=since)
    assert [r.event for r in rows] == ["other.c"]


def test_search_pages_with_the_total_of_all_matches(core: Core) -> None:
    user = core.user()
    for n in range(5):
        core.identity.audit.record(f"page.{n}", user_id=user.id)
    core.db.commit()

    rows, total = core.identity.audit.search(user_id=user.id, event="page.", page=2, per_page=2)
    assert total == 5 and [r.event for r in rows] == ["page.2", "page.1"]
