"""A plugin written from docs/cli.md keeps working after login: refresh and logout use the
OAuth client its credentials were issued to (public, or confidential through client_auth)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest

from cli_plugins.credentials import FileStore
from tests.support.browser import approve_device, sign_in
from tests.support.live import REPO_ROOT

from . import acme_plugin
from .conftest import me
from .packages import pip_install, write_tree
from .test_login_flows import USER_CODE


@pytest.fixture(scope="module")
def acme_site(tmp_path_factory):
    """limen-acme, built by pip from its source and installed into a directory of its own."""
    root = tmp_path_factory.mktemp("acme")
    source = write_tree(root / "src", acme_plugin.FILES)
    site = root / "site"
    pip_install(sys.executable, source, "--no-deps", "--target", str(site))
    return site


def register_acme_client(server, *, public: bool) -> dict[str, str]:
    """ACME's client, registered with the RFC 8628 name of the device grant."""
    args = ["--name", "ACME", "--scope", "profile", "--scope", "offline_access"]
    args += ["--grant", "urn:ietf:params:oauth:grant-type:device_code", "--grant", "refresh_token"]
    created = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "create-client", *args, "--json"]
        + (["--public"] if public else []),
        env=server.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    return dict(json.loads(created.stdout))


def expire_locally(path) -> None:
    """Make the CLI think the access token has expired, so the next use refreshes it."""
    store = FileStore(path)
    creds = store.load("default")
    assert creds is not None
    creds.expires_at = time.time() - 1
    store.save("default", creds)


@pytest.mark.parametrize("public", [True, False], ids=["public-client", "confidential-client"])
def test_plugin_login_refresh_and_logout_use_the_plugins_client(
    limen, account, cli_server, acme_site, public
):
    client = register_acme_client(cli_server, public=public)
    env = limen.env(PYTHONPATH=str(acme_site), ACME_CLIENT_ID=client["client_id"])
    if not public:
        env["ACME_CLIENT_SECRET"] = client["client_secret"]
    running = limen.start("login", "--provider", "acme", env=env)
    code = running.wait_for(USER_CODE).group(1)
    with httpx.Client(timeout=30) as http:
        sign_in(http, cli_server.url, account.email, account.password)
        assert approve_device(http, cli_server.url, code).status_code == 200
    assert running.finish() == 0, running.output
    assert limen.stored()["client_id"] == client["client_id"]
    first = limen.stored()["access_token"]

    expire_locally(limen.credentials_file)
    renewed = limen.run("token", env=env)
    assert renewed.returncode == 0, renewed.stderr
    assert renewed.stdout.strip() != first
    assert me(cli_server, renewed.stdout.strip()).json()["client_id"] == client["client_id"]

    logout = limen.run("logout", env=env)
    assert logout.returncode == 0, logout.stderr
    assert "revoked on the server" in logout.stderr
    assert me(cli_server, renewed.stdout.strip()).status_code == 401
