"""whoami, token, api, logout, revocation and profiles with a stored session."""

from __future__ import annotations

import json

import httpx

from .conftest import me


def test_whoami_token_and_api(limen, account, cli_server):
    limen.login(account)
    assert limen.run("whoami").stdout.splitlines()[0] == account.email
    assert json.loads(limen.run("whoami", "--json").stdout)["email"] == account.email
    token = limen.run("token").stdout.strip()
    assert me(cli_server, token).json()["email"] == account.email
    data = json.loads(limen.run("token", "--json").stdout)
    assert set(data) == {"access_token", "token_type", "expires_at"}
    api = limen.run("api", "GET", "/api/v1/me")
    assert api.returncode == 0 and json.loads(api.stdout)["email"] == account.email


def test_status_reports_who_how_until_where(limen, account, cli_server):
    limen.login(account)
    result = limen.run("status")
    assert result.returncode == 0
    for expected in (account.email, cli_server.url, "password", "Valid until", "credentials.json"):
        assert expected in result.stdout


def test_keys_create_list_rotate_revoke(limen, account, cli_server):
    def key_status(key: str) -> int:
        return httpx.get(f"{cli_server.url}/api/v1/me", headers={"X-API-Key": key}).status_code

    limen.login(account)
    created = json.loads(limen.run("keys", "create", "ci", "--scope", "profile", "--json").stdout)
    assert created["key"].startswith("limen_")
    listed = json.loads(limen.run("keys", "list", "--json").stdout)["items"]
    assert [k["name"] for k in listed] == ["ci"] and "key" not in listed[0]
    assert key_status(created["key"]) == 200
    rotated = limen.run("keys", "rotate", "ci", "--grace-seconds", "0")
    assert rotated.returncode == 0 and rotated.stdout.strip().startswith("limen_")
    successor = rotated.stdout.strip()
    assert (key_status(created["key"]), key_status(successor)) == (
        401,
        200,
    )  # no grace: the old key is dead
    revoked = limen.run("keys", "revoke", successor.split("_")[1])
    assert revoked.returncode == 0, revoked.stderr
    assert key_status(successor) == 401


def test_forbidden_is_exit_4_with_the_permission(limen, account):
    limen.login(account)
    result = limen.run("api", "GET", "/api/v1/users")
    assert result.returncode == 4 and "'users:read'" in result.stderr


def test_logout_revokes_on_the_server(limen, account, cli_server):
    limen.login(account)
    token = limen.run("token").stdout.strip()
    result = limen.run("logout")
    assert result.returncode == 0, result.stderr
    assert "revoked on the server" in result.stderr and "API keys" in result.stderr
    assert me(cli_server, token).status_code == 401
    assert limen.run("status").returncode == 3


def test_revoked_session_says_so_and_suggests_login(limen, account, cli_server):
    limen.login(account)
    refresh_token = limen.stored()["refresh_token"]
    httpx.post(
        f"{cli_server.url}/oauth/revoke",
        data={"token": refresh_token, "token_type_hint": "refresh_token", "client_id": "limen-cli"},
    ).raise_for_status()
    result = limen.run("api", "GET", "/api/v1/me")
    assert result.returncode == 3
    assert "has ended" in result.stderr and "limen login" in result.stderr


def test_profiles_side_by_side(limen, register, tmp_path):
    ana, bob = register(), register()
    limen.login(ana, "--profile", "ana")
    limen.login(bob, "--profile", "bob")
    project = tmp_path / "project" / "src"
    project.mkdir(parents=True)
    (tmp_path / "project" / ".limen-profile").write_text("bob\n")

    def who(*args: str, **env: str) -> str:
        result = limen.run("whoami", *args, cwd=project, env=limen.env(**env))
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()[0]

    assert who() == bob.email  # .limen-profile beats the default (ana, the first login)
    assert who(LIMEN_PROFILE="ana") == ana.email  # the environment beats .limen-profile
    assert who("--profile", "bob", LIMEN_PROFILE="ana") == bob.email  # flags beat all
    assert limen.run("profiles", "use", "bob").returncode == 0
    assert limen.run("whoami").stdout.splitlines()[0] == bob.email
    listing = json.loads(limen.run("profiles", "list", "--json").stdout)
    assert {p["name"] for p in listing["profiles"] if p["logged_in"]} == {"ana", "bob"}
    logout = limen.run("logout", "--profile", "ana")
    assert "Other profiles still logged in: bob" in logout.stderr
    assert limen.run("profiles", "remove", "bob").returncode == 0
    assert limen.run("status", "--profile", "bob").returncode == 3
