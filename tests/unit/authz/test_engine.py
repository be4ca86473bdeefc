"""The engine without a database: statement positions for Cedar's errors, entity uids, and
slicing (a decision considers only the policies whose scope can match)."""

from __future__ import annotations

import pytest

from webapp.authz import schema as cs
from webapp.authz.engine import Member, Request, Snapshot, parse_uid, policy_table
from webapp.authz.errors import BadDecisionRequest, PolicyInvalid

SCHEMA = {
    "App": {
        "entityTypes": {"Doc": {"memberOfTypes": ["Limen::Organisation"]}},
        "actions": {
            "read": {"appliesTo": {"principalTypes": ["Limen::User"], "resourceTypes": ["Doc"]}},
            "edit": {"appliesTo": {"principalTypes": ["Limen::User"], "resourceTypes": ["Doc"]}},
        },
    }
}


def test_statement_starts_skip_strings_and_comments():
    text = (
        'permit (principal, action, resource) when { context.x == "a;b" };\n'
        "// c; d\n"
        "  forbid (principal, action, resource);"
    )
    starts = cs.statement_starts(text)
    assert len(starts) == 2
    assert cs.line_column(text, starts[1]) == (3, 3)


def test_a_syntax_error_is_located_at_its_statement():
    text = "permit (principal, action, resource);\n\n  permit (principal, action resource);"
    with pytest.raises(PolicyInvalid) as caught:
        cs.parse_policies(text)
    assert caught.value.errors[0]["line"] == 3 and caught.value.errors[0]["column"] == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('App::Doc::"a"', ("App::Doc", "a")),
        ('App::Doc::"with \\"quote\\""', ("App::Doc", 'with "quote"')),
        ("ana@example.com", ("Limen::User", "ana@example.com")),
    ],
)
def test_parse_uid(text, expected):
    assert parse_uid(text, "Limen::User") == expected


@pytest.mark.parametrize("text", ["", "App::Doc::a", 'App::Doc::"a'])
def test_parse_uid_refuses_non_entities(text):
    with pytest.raises(ValueError):
        parse_uid(text)


def snapshot(policies: str) -> Snapshot:
    members = [Member("ana@example.com", ("data",)), Member("bo@example.com", ("ops",))]
    docs = [
        {
            "uid": {"type": "App::Doc", "id": d},
            "attrs": {},
            "parents": [{"type": "Limen::Organisation", "id": "o"}],
        }
        for d in ("a", "b")
    ]
    return Snapshot.build(
        "o", 1, cs.check_schema(SCHEMA), policy_table(policies, []), members, docs
    )


def test_a_decision_considers_only_the_policies_that_can_apply():
    policies = "\n".join(
        [
            'permit (principal in Limen::Team::"data", action == App::Action::"read", '
            'resource == App::Doc::"a");',
            'permit (principal in Limen::Team::"ops", action == App::Action::"read", resource);',
            'permit (principal, action == App::Action::"edit", resource == App::Doc::"b");',
            "forbid (principal, action, resource) when { false };",
        ]
    )
    snap = snapshot(policies)
    read = 'App::Action::"read"'
    ana_a = snap.decide(Request(("Limen::User", "ana@example.com"), read, ("App::Doc", "a")))
    assert ana_a.allowed and ana_a.policies_considered == 2  # policy0 and the forbid
    ana_b = snap.decide(Request(("Limen::User", "ana@example.com"), read, ("App::Doc", "b")))
    assert not ana_b.allowed and ana_b.policies_considered == 1
    bo_b = snap.decide(Request(("Limen::User", "bo@example.com"), read, ("App::Doc", "b")))
    assert bo_b.allowed and [r["policy"] for r in bo_b.reasons] == ["policy1"]


def test_unknown_names_are_errors_not_denies():
    snap = snapshot("permit (principal, action, resource);")
    with pytest.raises(BadDecisionRequest, match="Unknown action"):
        snap.decide(Request(("Limen::User", "x"), 'App::Action::"raed"', ("App::Doc", "a")))
    with pytest.raises(BadDecisionRequest):
        snap.decide(Request(("App::Dog", "x"), 'App::Action::"read"', ("App::Doc", "a")))
    assert snap.action("read") == 'App::Action::"read"'
    with pytest.raises(BadDecisionRequest):
        snap.action("administer-everything")
