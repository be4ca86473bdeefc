"""Browser login pieces: PKCE S256, the state and iss checks, the one-shot loopback listener."""

from __future__ import annotations

import base64
import hashlib
import threading
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from cli_plugins.console import Console
from cli_plugins.errors import LimenError
from cli_plugins.providers import LoginContext
from cli_plugins.providers.browser import BrowserProvider, check_callback, pkce_pair
from cli_plugins.providers.loopback import CallbackRejected, LoopbackReceiver

ISSUER = "http://limen.test"
GOOD = {"code": "c0de", "state": "s1", "iss": ISSUER}


def test_pkce_challenge_is_s256_of_the_verifier():
    verifier, challenge = pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_good_callback_yields_the_code():
    assert check_callback(GOOD, state="s1", issuer=ISSUER, iss_required=True) == "c0de"


@pytest.mark.parametrize(
    ("params", "fatal", "words"),
    [
        ({**GOOD, "state": "other"}, False, "state mismatch"),
        ({**GOOD, "iss": "http://evil.test"}, True, "mix-up"),
        ({"code": "c0de", "state": "s1"}, True, "no 'iss'"),
        (
            {"error": "access_denied", "error_description": "No.", "state": "s1", "iss": ISSUER},
            True,
            "refused",
        ),
        ({"state": "s1", "iss": ISSUER}, True, "no code"),
    ],
    ids=["state", "iss-mismatch", "iss-missing", "error", "no-code"],
)
def test_bad_callbacks_are_rejected(params, fatal, words):
    with pytest.raises(CallbackRejected) as caught:
        check_callback(params, state="s1", issuer=ISSUER, iss_required=True)
    assert caught.value.fatal is fatal
    assert words in caught.value.message


def validate(params: dict[str, str]) -> str:
    return check_callback(params, state="s1", issuer=ISSUER, iss_required=True)


def test_listener_ignores_strays_then_shows_the_final_result():
    ignored: list[str] = []
    with LoopbackReceiver(0, validate, ignored.append) as receiver, httpx.Client() as http:
        stray = http.get(receiver.redirect_uri, params={**GOOD, "state": "forged"})
        assert stray.status_code == 400 and "Sign-in failed" in stray.text
        answers: list[httpx.Response] = []
        browser = threading.Thread(
            target=lambda: answers.append(http.get(receiver.redirect_uri, params=GOOD))
        )
        browser.start()
        assert receiver.wait(5) == "c0de"
        receiver.finish(True, "You are signed in to Limen as ana@example.com.")
        browser.join(5)
    assert answers[0].status_code == 200
    assert "ana@example.com" in answers[0].text and "close this tab" in answers[0].text
    assert ignored and "state mismatch" in ignored[0]


def test_listener_reports_a_fatal_redirect():
    with LoopbackReceiver(0, validate, print) as receiver, httpx.Client() as http:
        page = http.get(receiver.redirect_uri, params={**GOOD, "iss": "http://evil.test"})
        with pytest.raises(LimenError, match="mix-up"):
            receiver.wait(5)
    assert page.status_code == 400


def test_listener_times_out_cleanly():
    with LoopbackReceiver(0, validate, print) as receiver, pytest.raises(LimenError) as caught:
        receiver.wait(0.3)
    assert "No answer from the browser" in caught.value.message
    assert "--device" in (caught.value.hint or "")


def test_busy_fixed_port_is_explained():
    with LoopbackReceiver(0, validate, print) as first, pytest.raises(LimenError) as caught:
        LoopbackReceiver(first.port, validate, print)
    assert "--port" in (caught.value.hint or "")


class PastingConsole(Console):
    def __init__(self, answer: str) -> None:
        super().__init__(interactive=True)
        self.answer = answer

    def prompt(self, text: str, default: str | None = None) -> str:
        return self.answer


def paste(answer: str) -> str:
    with httpx.Client() as http:
        context = LoginContext(
            server=ISSUER,
            profile="default",
            http=http,
            env={},
            console=PastingConsole(answer),
            config_dir=Path("/nonexistent"),
        )
        return BrowserProvider()._pasted(context, f"{ISSUER}/oauth/authorize?x=1", validate)


def test_pasted_redirect_url_goes_through_the_same_checks():
    assert paste(f"http://127.0.0.1:9/callback?{urlencode(GOOD)}") == "c0de"
    with pytest.raises(LimenError, match="state mismatch"):
        paste(f"http://127.0.0.1:9/callback?{urlencode({**GOOD, 'state': 'x'})}")
    with pytest.raises(LimenError, match="not the redirect URL"):
        paste("http://127.0.0.1:9/callback")
