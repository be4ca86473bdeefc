"""The CSP source a response's form-action may add for a validated redirect URI."""

from __future__ import annotations

import pytest

from webapp.security import csp, redirect_origin


@pytest.mark.parametrize(
    ("uri", "source"),
    [
        ("http://127.0.0.1:53682/callback?x=1", "http://127.0.0.1:53682"),
        ("https://App.Example.com/cb", "https://app.example.com"),
        ("https://app.example.com:8443/a/b", "https://app.example.com:8443"),
        ("http://[::1]:8080/cb", "http://[::1]:8080"),
        ("com.example.app:/oauth2redirect", "com.example.app:"),
        ("javascript:alert(1)", None),
        ("data:text/html,x", None),
        ("/relative/path", None),
        ("https:///no-host", None),
        ("https://app.example.com:99999/cb", None),
        ("https://app.example.com;script-src*/cb", None),  # no CSP injection
        ("https://a b.example/cb", None),
        ("https://user:pw@app.example.com/cb", "https://app.example.com"),
    ],
)
def test_redirect_origin(uri, source):
    assert redirect_origin(uri) == source


def test_form_action_is_self_unless_widened():
    assert "form-action 'self';" in csp()
    assert "form-action 'self' http://127.0.0.1:5000;" in csp(("http://127.0.0.1:5000",))
