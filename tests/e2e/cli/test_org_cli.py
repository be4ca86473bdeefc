"""`limen org list` and `limen org switch`: the real executable against a live server; the
switch is a refresh at /oauth/token that asks for the organisation, refused (exit 4, the
session unchanged) for one the person is not in."""

from __future__ import annotations

import json
import secrets

import httpx
import pytest

from tests.support.browser import follow_authorize, sign_in
from tests.support.factories import PASSWORD, Account, bearer_for, create_user


@pytest.fixture
def member(cli_server, register, make_limen):
    """Ana, a member of a fresh organisation (team data), logged in to her own CLI; an
    organisation she is not in."""
    admin = bearer_for(cli_server, create_user(cli_server, "admin"))
    url = f"{cli_server.url}/api/v1/orgs"
    mine, other = f"org-{secrets.token_hex(4)}", f"other-{secrets.token_hex(4)}"
    for org_id in (mine, other):
        made = httpx.post(url, json={"id": org_id, "name": org_id.title()}, headers=admin)
        assert made.status_code == 201, made.text
    ana = register()
    joined = httpx.put(f"{url}/{mine}/members/{ana.email}", json={"teams": ["data"]}, headers=admin)
    assert joined.status_code == 200, joined.text
    limen = make_limen(cli_server, "ana")
    limen.login(Account(ana.email, PASSWORD, ""))
    fresh = make_limen(cli_server, "ana-browser")
    return {"limen": limen, "fresh": fresh, "ana": ana, "mine": mine, "other": other}


def me(limen) -> dict:
    shown = limen.run("api", "/api/v1/me")
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def test_list_then_switch_and_back(member):
    limen, mine = member["limen"], member["mine"]
    listed = limen.run("org", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [f"  {mine}\t{mine.title()}\tteams: data"]
    switched = limen.run("org", "switch", mine)
    assert switched.returncode == 0, switched.stderr
    assert mine in switched.stdout
    assert me(limen)["org"] == mine
    as_json = json.loads(limen.run("org", "list", "--json").stdout)
    assert as_json["current"] == mine and as_json["items"][0]["current"] is True
    assert limen.run("org", "list").stdout.startswith(f"* {mine}")
    left = limen.run("org", "switch", "--none", "--json")
    assert left.returncode == 0 and json.loads(left.stdout)["org"] is None
    assert me(limen)["org"] is None


@pytest.mark.parametrize("which", ["other", "unknown", "hostile"])
def test_an_org_one_is_not_in_exits_4_and_keeps_the_session(member, which):
    limen, mine = member["limen"], member["mine"]
    assert limen.run("org", "switch", mine).returncode == 0
    asked = {"other": member["other"], "unknown": "nope-nope", "hostile": "a b\"c'\\;"}[which]
    refused = limen.run("org", "switch", asked)
    assert refused.returncode == 4, (refused.stdout, refused.stderr)
    assert "not a member" in refused.stderr and "limen org list" in refused.stderr
    assert me(limen)["org"] == mine  # the stored session is the one before the attempt


def test_usage_errors_exit_2(member):
    limen = member["limen"]
    assert limen.run("org", "switch").returncode == 2
    assert limen.run("org", "switch", member["mine"], "--none").returncode == 2


def browser_login(member, cli_server, org: str):
    running = member["fresh"].start("login", "--browser", "--no-browser", "--org", org)
    url = running.wait_for(r"^\s+(http\S+/oauth/authorize\?\S+)").group(1)
    with httpx.Client(timeout=30) as http:
        sign_in(http, cli_server.url, member["ana"].email, member["ana"].password)
        httpx.get(follow_authorize(http, url), timeout=30)  # the loopback listener gets it
    return url, running


def test_browser_login_into_an_org(member, cli_server):
    url, running = browser_login(member, cli_server, member["mine"])
    assert f"organization={member['mine']}" in url
    assert running.finish() == 0, running.output
    assert me(member["fresh"])["org"] == member["mine"]


@pytest.mark.parametrize("which", ["other", "unknown"])
def test_browser_login_into_an_org_one_is_not_in_saves_nothing(member, cli_server, which):
    asked = {"other": member["other"], "unknown": "nope-nope"}[which]
    _, running = browser_login(member, cli_server, asked)
    assert running.finish() != 0
    assert "not a member" in running.output and "access_denied" in running.output
    assert member["fresh"].run("status").returncode == 3


def test_org_is_for_the_browser_login_only(member):
    refused = member["fresh"].run(
        "login", "--password", "--user", member["ana"].email, "--org", member["mine"]
    )
    assert refused.returncode == 2 and "limen org switch" in refused.stderr
