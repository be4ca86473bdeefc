"""Search without a database: a page decides at most SCAN_LIMIT candidates, tokens continue
exactly after the last one decided, and a token is tied to its kind of search."""

from __future__ import annotations

import pytest

from webapp.authz import schema as cs
from webapp.authz import search
from webapp.authz.engine import Member, Snapshot, policy_table
from webapp.authz.errors import BadDecisionRequest

from .test_engine import SCHEMA

READ = 'App::Action::"read"'
USER = "Limen::User"


def snapshot(docs: int) -> Snapshot:
    rows = [
        {
            "uid": {"type": "App::Doc", "id": f"d{i:05}"},
            "attrs": {},
            "parents": [{"type": "Limen::Organisation", "id": "o"}],
        }
        for i in range(docs)
    ]
    # ana may read every tenth document, and only those.
    text = "\n".join(
        f'permit (principal == Limen::User::"ana@example.com", action == {READ}, '
        f'resource == App::Doc::"d{i:05}");'
        for i in range(0, docs, 10)
    )
    members = [Member("ana@example.com", ("data",)), Member("bo@example.com", ())]
    return Snapshot.build("o", 1, cs.check_schema(SCHEMA), policy_table(text, []), members, rows)


def test_a_page_scans_a_bounded_number_of_candidates(monkeypatch):
    monkeypatch.setattr(search, "SCAN_LIMIT", 25)
    snap = snapshot(100)
    ana = (USER, "ana@example.com")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = search.resources(snap, ana, READ, "App::Doc", {}, token=token, limit=50)
        assert page.scanned <= 25
        seen += [hit.key for hit in page.hits]
        pages += 1
        if not page.next_token:
            break
        token = page.next_token
    assert seen == [f"d{i:05}" for i in range(0, 100, 10)]
    assert pages == 4  # 100 candidates, 25 a page: some pages hold few results, none is lost


def test_subjects_and_actions():
    snap = snapshot(20)
    who = search.subjects(snap, USER, READ, ("App::Doc", "d00010"), {})
    assert [h.key for h in who.hits] == ["ana@example.com"] and who.next_token == ""
    what = search.actions(snap, (USER, "ana@example.com"), ("App::Doc", "d00010"), {})
    assert [h.key for h in what.hits] == [READ]
    nothing = search.actions(snap, (USER, "bo@example.com"), ("App::Doc", "d00010"), {})
    assert nothing.hits == []


def test_who_can_lists_principals_with_the_permitting_policies():
    snap = snapshot(20)
    rows, token, undecidable = search.who_can(snap, ("App::Doc", "d00000"))
    assert [(r.principal, list(r.actions)) for r in rows] == [((USER, "ana@example.com"), [READ])]
    assert rows[0].actions[READ][0]["effect"] == "permit"
    assert token == "" and undecidable == []


@pytest.mark.parametrize(
    "token",
    ["%%%", "e30", search.encode_token("subject", "x"), "eyJrIjoicmVzb3VyY2UiLCJhIjoxfQ"],
)
def test_a_foreign_or_forged_token_is_refused(token):
    with pytest.raises(BadDecisionRequest) as caught:
        search.resources(snapshot(3), (USER, "ana@example.com"), READ, "App::Doc", {}, token=token)
    assert caught.value.slug == "invalid-page-token"


@pytest.mark.parametrize("limit", [0, -1, search.MAX_LIMIT + 1])
def test_limits_outside_the_range_are_refused(limit):
    with pytest.raises(BadDecisionRequest):
        search.clamp_limit(limit)
