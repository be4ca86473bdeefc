"""`limen authz check` for an analyst, and `limen policy validate|test|apply|diff|history|
rollback` for an admin, as a team's CI would run them: the real executable, a live server."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx
import pytest

from tests.e2e.authz.conftest import SCHEMA, file, policies, project, team_read
from tests.support.factories import PASSWORD, Account, bearer_for, create_user


@pytest.fixture
def setup(cli_server, register, make_limen, tmp_path: Path):
    """An organisation on the CLI's server, an admin CLI, an analyst CLI, a policy folder."""
    admin_email = create_user(cli_server, "admin")
    headers = bearer_for(cli_server, admin_email)
    org_id = f"ci-{secrets.token_hex(4)}"
    url = f"{cli_server.url}/api/v1/orgs"
    assert httpx.post(url, json={"id": org_id, "name": "CI"}, headers=headers).status_code == 201
    ana = register()
    member = httpx.put(
        f"{url}/{org_id}/members/{ana.email}", json={"teams": ["data"]}, headers=headers
    )
    assert member.status_code == 200
    folder = tmp_path / "policy"
    folder.mkdir()
    (folder / "policies.cedar").write_text(policies(org_id))
    (folder / "schema.json").write_text(json.dumps(SCHEMA))
    (folder / "links.json").write_text(
        json.dumps([team_read("data-analytics", "data", "analytics")])
    )
    admin = make_limen(cli_server, "admin")
    admin.login(Account(admin_email, PASSWORD, ""))
    applied = admin.run("policy", "apply", "--org", org_id, "--dir", str(folder), "--note", "first")
    assert applied.returncode == 0, applied.stderr
    entities = [
        project("analytics", org_id),
        project("vault", org_id, "secret"),
        file("a.csv", "analytics"),
    ]
    stored = httpx.put(f"{url}/{org_id}/entities", json={"entities": entities}, headers=headers)
    assert stored.status_code == 200
    analyst = make_limen(cli_server, "analyst")
    analyst.login(ana)
    return {"org": org_id, "admin": admin, "analyst": analyst, "ana": ana, "dir": folder}


def test_an_analyst_checks_decisions(setup):
    analyst, org, email = setup["analyst"], setup["org"], setup["ana"].email
    allowed = analyst.run(
        "authz", "check", email, "read", 'Acme::File::"a.csv"', "--org", org, "--explain"
    )
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.splitlines() == ["allow", "  permit: team-read"]
    denied = analyst.run("authz", "check", email, "write", 'Acme::File::"a.csv"', "--org", org)
    assert (denied.returncode, denied.stdout.strip()) == (1, "deny")
    secret = analyst.run(
        "authz",
        "check",
        email,
        "read",
        'Acme::Project::"vault"',
        "--json",
        env=analyst.env(LIMEN_ORG=org),
    )
    assert secret.returncode == 1 and json.loads(secret.stdout) == {"decision": False}
    typo = analyst.run("authz", "check", email, "reed", 'Acme::File::"a.csv"', "--org", org)
    assert typo.returncode == 1 and "Unknown action 'reed'" in typo.stderr
    bad = analyst.run("authz", "check", email, "read", "a.csv", "--org", org)
    assert bad.returncode == 2


def test_an_analyst_outside_the_organisation_is_forbidden(setup, cli_server, register, make_limen):
    stranger = make_limen(cli_server, "stranger")
    stranger.login(register())
    email, org = setup["ana"].email, setup["org"]
    refused = stranger.run("authz", "check", email, "read", 'Acme::File::"a.csv"', "--org", org)
    assert refused.returncode == 4 and "member of" in refused.stderr


def test_policy_test_fails_the_ci_job_on_a_wrong_decision(setup, tmp_path: Path):
    admin, org, email = setup["admin"], setup["org"], setup["ana"].email
    cases = [
        {
            "name": "data reads analytics",
            "subject": email,
            "action": "read",
            "resource": 'Acme::File::"a.csv"',
            "expect": "allow",
        },
        {
            "name": "nobody reads secrets",
            "subject": email,
            "action": "read",
            "resource": 'Acme::Project::"vault"',
            "expect": "deny",
        },
    ]
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    good = admin.run("policy", "test", str(path), "--org", org, "--dir", str(setup["dir"]))
    assert good.returncode == 0, good.stdout + good.stderr
    assert good.stdout.splitlines()[-1] == "2 passed, 0 failed"
    cases[1]["expect"] = "allow"  # a wrong expectation: the job must fail
    path.write_text(json.dumps(cases))
    wrong = admin.run("policy", "test", str(path), "--org", org, "--dir", str(setup["dir"]))
    assert wrong.returncode == 1
    assert "FAIL nobody reads secrets: expected allow, got deny" in wrong.stdout
    # A local change that breaks a case fails before it is ever applied.
    (setup["dir"] / "links.json").write_text("[]")
    cases[1]["expect"] = "deny"
    path.write_text(json.dumps(cases))
    broken = admin.run("policy", "test", str(path), "--org", org, "--dir", str(setup["dir"]))
    assert broken.returncode == 1 and "FAIL data reads analytics" in broken.stdout
    current = admin.run("policy", "test", str(path), "--org", org, "--current")
    assert current.returncode == 0, current.stdout


def test_validate_diff_apply_history_rollback(setup):
    admin, org, folder = setup["admin"], setup["org"], setup["dir"]
    assert admin.run("policy", "diff", "--org", org, "--dir", str(folder)).returncode == 0
    cedar = folder / "policies.cedar"
    good_text = cedar.read_text()
    cedar.write_text(good_text + "\npermit (principal, action, resource) when { resource.nope };\n")
    invalid = admin.run("policy", "validate", "--org", org, "--dir", str(folder))
    assert invalid.returncode == 1
    line = good_text.count("\n") + 2
    assert f"policies.cedar:{line}:1:" in invalid.stderr and "nope" in invalid.stderr
    refused = admin.run("policy", "apply", "--org", org, "--dir", str(folder))
    assert refused.returncode == 1
    cedar.write_text(
        good_text
        + '\n@id("all-read")\npermit (principal, action == Acme::Action::"read", resource);\n'
    )
    assert (
        admin.run("policy", "validate", "--org", org, "--dir", str(folder)).stdout.strip()
        == "valid"
    )
    changed = admin.run("policy", "diff", "--org", org, "--dir", str(folder))
    assert changed.returncode == 1 and '+@id("all-read")' in changed.stdout
    applied = admin.run("policy", "apply", "--org", org, "--dir", str(folder), "--note", "open")
    assert applied.returncode == 0 and "version 3" in applied.stdout
    history = json.loads(admin.run("policy", "history", "--org", org, "--json").stdout)["items"]
    assert [(v["version"], v["note"]) for v in history][:2] == [(3, "open"), (2, "first")]
    back = admin.run("policy", "rollback", "2", "--org", org)
    assert back.returncode == 0 and "version 4 (= 2)" in back.stdout
    assert admin.run("policy", "diff", "--org", org, "--dir", str(folder)).returncode == 1


def test_an_analyst_may_not_apply(setup):
    analyst, org = setup["analyst"], setup["org"]
    refused = analyst.run("policy", "apply", "--org", org, "--dir", str(setup["dir"]))
    assert refused.returncode == 4 and "authz:write" in refused.stderr
