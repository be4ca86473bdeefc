"""Automatic refresh against a node whose access tokens live 10 s."""

from __future__ import annotations

import json
import time
from pathlib import Path

from cli_plugins.credentials import FileStore
from cli_plugins.sdk import AuthClient

from .conftest import me

PAST_EXPIRY = 11  # the CLI's own clock says expired
PAST_SERVER_LEEWAY = 16  # the server also allows 5 s of clock leeway before it answers 401


def test_token_is_refreshed_after_expiry(make_limen, short_ttl_server, register):
    limen = make_limen(short_ttl_server)
    limen.login(register(short_ttl_server))
    first = limen.run("token").stdout.strip()
    time.sleep(PAST_EXPIRY)
    second = limen.run("token").stdout.strip()
    assert second != first
    assert me(short_ttl_server, second).status_code == 200


def test_sdk_shares_the_cli_store_and_refresh(make_limen, short_ttl_server, register):
    limen = make_limen(short_ttl_server)
    account = register(short_ttl_server)
    limen.login(account)
    first = limen.stored()["access_token"]
    time.sleep(PAST_EXPIRY)
    with AuthClient.from_config(env=limen.env()) as auth, auth.session() as http:
        token = auth.get_access_token()
        assert token != first
        assert http.get("/api/v1/me").json()["email"] == account.email
    assert limen.run("token").stdout.strip() == token  # the SDK saved what it refreshed


def test_concurrent_refreshes_spend_the_refresh_token_once(make_limen, short_ttl_server, register):
    limen = make_limen(short_ttl_server)
    limen.login(register(short_ttl_server))
    spent = limen.stored()["refresh_token"]
    time.sleep(PAST_EXPIRY)
    runs = [limen.start("token", "--json") for _ in range(2)]
    codes = [run.finish() for run in runs]
    assert codes == [0, 0], [run.output for run in runs]
    tokens = {json.loads(run.output)["access_token"] for run in runs}
    assert len(tokens) == 1  # the second process found the first one's refresh
    assert limen.stored()["refresh_token"] != spent
    # No reuse was detected: reuse would have revoked the session and this would fail.
    api = limen.run("api", "GET", "/api/v1/me")
    assert api.returncode == 0, api.stderr


def test_a_401_triggers_one_refresh_and_a_retry(make_limen, short_ttl_server, register):
    limen = make_limen(short_ttl_server)
    limen.login(register(short_ttl_server))
    stale = limen.stored()["access_token"]
    time.sleep(PAST_SERVER_LEEWAY)
    assert me(short_ttl_server, stale).status_code == 401
    _pretend_fresh(limen.credentials_file)  # the CLI thinks the token is fine; the server won't
    api = limen.run("api", "GET", "/api/v1/me")
    assert api.returncode == 0, api.stderr
    assert limen.stored()["access_token"] != stale


def _pretend_fresh(path: Path) -> None:
    store = FileStore(path)
    creds = store.load("default")
    assert creds is not None
    creds.obtained_at, creds.expires_at = time.time(), time.time() + 3600
    store.save("default", creds)
