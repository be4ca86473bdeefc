"""A planned signing-key rotation walked in real time (short settings, real worker and cron
processes, a real web node, no clock moved): tokens keep verifying while the key changes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx

from tests.support.factories import Api
from tests.support.live import LiveServer

from .conftest import JobsNode, wait_for
from .test_rotate_keys_command import key_states, rotate_keys


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def me(web: LiveServer, token: str) -> int:
    return httpx.get(
        f"{web.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}
    ).status_code


def test_tokens_verify_through_a_real_time_rotation(make_node: Any) -> None:
    node: JobsNode = make_node(
        LIMEN_ACCESS_TOKEN_TTL="20",  # outlives the switch on a loaded machine, yet short
        LIMEN_KEY_PUBLISH_SECONDS="2",
        LIMEN_KEY_RETIRE_MARGIN_SECONDS="10",
        LIMEN_JOB_INTERVALS='{"keys.maintain": 1}',
        LIMEN_CRON_TICK_SECONDS="0.5",
    )
    web = LiveServer(node.env, migrate=False)
    web.start()
    try:
        with Api(web.url) as api:
            account = api.register()
            node.spawn("worker")
            node.spawn("cron")
            before = api.login(account)["access_token"]  # just before the rotation is asked for
            (old_kid,) = key_states(node)
            assert rotate_keys(node).returncode == 0

            wait_for(lambda: key_states(node)[old_kid] == "retiring", 60, "the successor active")
            assert me(web, before) == 200  # a token of the retiring key still verifies

            def signs_with_new_key() -> str | None:
                time.sleep(0.5)  # a sign-in each turn: the ring is re-read every few seconds
                token = str(api.login(account)["access_token"])
                return token if kid_of(token) != old_kid else None

            after = wait_for(signs_with_new_key, 20, "the web node signing with the new key")
            assert me(web, after) == 200

            wait_for(lambda: key_states(node)[old_kid] == "retired", 60, "the old key retired")
            assert me(web, api.login(account)["access_token"]) == 200
    finally:
        web.stop()
