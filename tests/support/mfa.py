"""Turn on two-step verification for an account the way a person does: in the portal."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pyotp

from tests.support.browser import csrf_from, sign_in


def enroll(node: Any, account: Any) -> tuple[pyotp.TOTP, list[str]]:
    """Set up TOTP on /mfa; returns the authenticator and the recovery codes shown once."""
    with httpx.Client(base_url=node.url) as http:
        sign_in(http, node.url, account.email, account.password)
        page = http.get("/mfa")
        setup = http.post("/mfa/setup", data={"csrf_token": csrf_from(page.text)})
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', setup.text).group(1)
        totp = pyotp.TOTP(secret)
        done = http.post(
            "/mfa/confirm", data={"csrf_token": csrf_from(setup.text), "otp": totp.now()}
        )
        assert done.status_code == 200, done.text[:300]
        codes = (
            re.search(r'id="recovery-codes" class="codes">(.*?)</pre>', done.text, re.S)
            .group(1)
            .split()
        )
    assert len(codes) == 10
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: the current one was spent by the set-up."""
    return totp.at(time.time() + totp.interval)
