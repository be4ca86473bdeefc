"""The log scan recognises every kind of secret Limen issues (so it can fail)."""

from __future__ import annotations

import pytest

from tests.support.leaks import find_leaks
from webapp.identity.api_keys import format_key


@pytest.mark.parametrize(
    "secret",
    [
        "eyJ0eXAiOiJhdCtqd3QiLCJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl",
        "limen_rt_" + "a" * 43,
        format_key("AbCdEf12", "x" * 32),
        "limen_cs_" + "b" * 43,
        "correct horse battery staple",
        "gho_" + "Stub" * 9,
    ],
    ids=["jwt", "refresh-token", "api-key", "client-secret", "password", "github-token"],
)
def test_each_secret_shape_is_found(secret):
    assert find_leaks(f'{{"event": "request", "detail": "{secret}"}}')


def test_ordinary_log_lines_are_clean():
    line = (
        '{"event": "request", "method": "POST", "path": "/auth/login", "status": 401, '
        '"request_id": "0d2e0115267f4a35a3c62bf88bafecf7", "sub": "23d3dcd7-41f3"}'
    )
    assert find_leaks(line) == []
