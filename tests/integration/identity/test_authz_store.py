"""The policy store and decision point called directly: validation before saving, versions
and rollback, the administrator invariant, and decisions on the kept, sliced policy set."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import func, select

from tests.e2e.authz.conftest import SCHEMA, file, policies, project, team_read
from webapp.authz import BadDecisionRequest, NoAdministrator, PolicyInvalid, Request
from webapp.authz.schema import ADMINISTER, ORG, USER
from webapp.models import AuthzPolicyVersion


@pytest.fixture
def acme(core):
    admin = core.user(("admin",))
    org_id = f"acme-{secrets.token_hex(4)}"
    store = core.identity.policies
    store.create_org(org_id, "Acme", owner=admin, actor=admin.id)
    ana = core.user()
    store.set_member(org_id, ana, ["data"], actor=admin.id)
    store.save(org_id, schema=SCHEMA, policies=policies(org_id), links=[], actor=admin.id)
    store.put_entities(
        org_id, [project("analytics", org_id), file("report.csv", "analytics")], actor=admin.id
    )
    core.db.commit()  # the boundary's part (services only flush)
    return org_id, admin, ana


def versions(core, org_id: str) -> int:
    query = select(func.count()).where(AuthzPolicyVersion.org_id == org_id)
    return int(core.db.scalar(query) or 0)


def test_a_syntax_error_names_line_and_column_and_saves_nothing(core, acme):
    org_id, admin, _ = acme
    text = policies(org_id) + "\n\npermit (principal, action, resource) when { principal. };"
    with pytest.raises(PolicyInvalid) as caught:
        core.identity.policies.save(org_id, schema=SCHEMA, policies=text, links=[], actor=admin.id)
    [error] = caught.value.errors
    assert (error["line"], error["column"]) == (text.count("\n") + 1, 1)
    assert versions(core, org_id) == 2


def test_a_policy_that_does_not_fit_the_schema_is_refused(core, acme):
    org_id, admin, _ = acme
    text = policies(org_id, 'permit (principal, action, resource) when { resource.colour == "x" };')
    with pytest.raises(PolicyInvalid) as caught:
        core.identity.policies.save(org_id, schema=SCHEMA, policies=text, links=[], actor=admin.id)
    assert "colour" in caught.value.errors[0]["message"]
    assert caught.value.errors[0]["policy"] == "policy3"
    assert versions(core, org_id) == 2


@pytest.mark.parametrize(
    "schema",
    [
        {"Limen": {"entityTypes": {}, "actions": {}}},
        {"Acme": {"entityTypes": {"X": {"memberOfTypes": ["Nope"]}}, "actions": {}}},
        ["not", "an", "object"],
    ],
)
def test_a_bad_schema_is_refused(core, acme, schema):
    org_id, admin, _ = acme
    with pytest.raises(PolicyInvalid):
        core.identity.policies.save(
            org_id, schema=schema, policies=policies(org_id), links=[], actor=admin.id
        )
    assert versions(core, org_id) == 2


def test_no_change_may_leave_the_organisation_without_an_administrator(core, acme):
    org_id, admin, ana = acme
    store = core.identity.policies
    without_admin_policy = policies(org_id).split('@id("team-read")', 1)[1]
    with pytest.raises(NoAdministrator):
        store.save(
            org_id,
            schema=SCHEMA,
            policies='@id("team-read")' + without_admin_policy,
            links=[],
            actor=admin.id,
        )
    with pytest.raises(NoAdministrator):
        store.set_member(org_id, admin, ["data"], actor=admin.id)  # leaves team admins
    with pytest.raises(NoAdministrator):
        store.remove_member(org_id, admin, actor=admin.id)
    assert versions(core, org_id) == 2
    members = {m.email: m.teams for m in store.members(org_id)}
    assert members[admin.email_normalized] == ("admins",)
    store.set_member(org_id, ana, ["admins"], actor=admin.id)  # another admin first: fine
    store.remove_member(org_id, admin, actor=admin.id)


def test_versions_keep_who_and_when_and_roll_back(core, acme):
    org_id, admin, ana = acme
    store = core.identity.policies
    decide = core.identity.authz.decide
    read = Request(
        (USER, ana.email_normalized), 'Acme::Action::"read"', ("Acme::File", "report.csv")
    )
    assert decide(org_id, read).allowed is False
    linked = store.save(
        org_id,
        schema=SCHEMA,
        policies=policies(org_id),
        links=[team_read("data-analytics", "data", "analytics")],
        actor=admin.id,
        note="data reads analytics",
    )
    assert decide(org_id, read).allowed is True
    assert decide(org_id, read).reasons == [
        {"policy": "data-analytics", "effect": "permit", "id": "team-read"}
    ]
    back = store.rollback(org_id, linked.version - 1, actor=admin.id)
    assert back.version == linked.version + 1 and back.note.startswith("rollback")
    assert decide(org_id, read).allowed is False
    history = store.history(org_id)
    assert [v.version for v in history] == [4, 3, 2, 1]
    assert all(v.author == admin.id for v in history)


def test_unknown_names_in_a_decision_are_errors(core, acme):
    org_id, _, ana = acme
    decide = core.identity.authz.decide
    who = (USER, ana.email_normalized)
    with pytest.raises(BadDecisionRequest, match="Acme::Fil"):
        decide(org_id, Request(who, 'Acme::Action::"read"', ("Acme::Fil", "x")))
    with pytest.raises(BadDecisionRequest, match="reed"):
        decide(org_id, Request(who, 'Acme::Action::"reed"', ("Acme::File", "x")))
    assert decide(org_id, Request(who, ADMINISTER, (ORG, org_id))).allowed is False


def test_entities_must_fit_the_schema(core, acme):
    org_id, admin, _ = acme
    store = core.identity.policies
    bad = [
        {"uid": {"type": "Acme::Nope", "id": "x"}, "attrs": {}, "parents": []},
        {"uid": {"type": "Limen::User", "id": "x@example.com"}, "attrs": {}, "parents": []},
        {
            "uid": {"type": "Acme::Project", "id": "x"},
            "attrs": {"classification": 3},
            "parents": [],
        },
    ]
    for entity in bad:
        with pytest.raises(PolicyInvalid):
            store.put_entities(org_id, [entity], actor=admin.id)
    assert {e["uid"]["id"] for e in store.resources(org_id)} == {"analytics", "report.csv"}


def test_team_sync_keeps_hand_given_teams_and_never_removes_the_last_admin(core, acme):
    org_id, admin, ana = acme
    store = core.identity.policies

    def teams(user) -> tuple[str, ...]:
        return {m.email: m.teams for m in store.members(org_id)}.get(user.email_normalized, ())

    assert store.sync_teams(org_id, ana, ["ops", "bad name!", "data"], source="upstream:corp")
    assert teams(ana) == ("data", "ops")  # data was given by hand; "bad name!" skipped
    assert not store.sync_teams(org_id, ana, ["ops", "data"], source="upstream:corp")
    assert store.sync_teams(org_id, ana, [], source="upstream:corp")
    assert teams(ana) == ("data",)
    # Ana becomes the only administrator through the provider; losing that group upstream
    # would leave nobody able to administer, so that sync is skipped (the sign-in goes on).
    assert store.sync_teams(org_id, ana, ["admins"], source="upstream:corp")
    store.set_member(org_id, admin, [], actor=admin.id)
    assert not store.sync_teams(org_id, ana, [], source="upstream:corp")
    assert teams(ana) == ("admins", "data")
    assert not store.sync_teams("no-such-org", ana, ["x"], source="upstream:corp")
