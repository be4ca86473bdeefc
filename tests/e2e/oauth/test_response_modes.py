"""Response modes over real HTTP with Authlib's client: ``fragment`` puts the answer after
``#``, ``form_post`` answers with a page whose form posts it to the redirect URI (its CSP
allowing exactly that origin, no inline script), and a mode Limen does not offer is
``invalid_request`` in the query. (form_post walked in Chromium: tests/e2e/browser.)"""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

REDIRECT = "http://127.0.0.1:9/callback"  # the CLI's loopback redirect; never delivered
FORM = re.compile(r'<form method="post" action="([^"]*)" data-limen-form-post>')
FIELD = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


def rp(redirect_uri: str = REDIRECT) -> OAuth2Client:
    return OAuth2Client(
        client_id="limen-cli",
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=redirect_uri,
        scope="openid profile",
    )


def form_post_of(page: httpx.Response) -> tuple[str, dict[str, str]]:
    """Where a form_post page posts, and what."""
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    action = FORM.search(page.text)
    assert action, page.text[:500]
    fields = {html.unescape(k): html.unescape(v) for k, v in FIELD.findall(page.text)}
    return html.unescape(action.group(1)), fields


def test_form_post_posts_code_state_and_iss_to_the_redirect_uri(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, response_mode="form_post"
        )
        page = http.get(url)  # limen-cli is trusted: no consent page
        action, fields = form_post_of(page)
        assert action == REDIRECT and "Location" not in page.headers
        assert fields["state"] == state and fields["iss"] == metadata["issuer"]
        assert set(fields) == {"code", "state", "iss"}
        token = client.fetch_token(
            metadata["token_endpoint"], code=fields["code"], code_verifier=verifier
        )
    assert token["id_token"] and token["access_token"]
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:9;" in csp and "script-src 'self';" in csp
    assert page.headers["Cache-Control"] == "no-store"
    assert '<script src="/static/form_post.js" defer></script>' in page.text
    assert "<script>" not in page.text and "<noscript>" in page.text


def test_form_post_delivers_errors_too(server, metadata):
    with rp() as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            code_verifier="v" * 43,
            response_mode="form_post",
            prompt="none",
        )
    page = httpx.get(url)  # nobody signed in
    action, fields = form_post_of(page)
    assert action == REDIRECT
    assert fields["error"] == "login_required" and fields["state"] == state
    assert fields["iss"] == metadata["issuer"] and "code" not in fields
    assert "form-action 'self' http://127.0.0.1:9;" in page.headers["Content-Security-Policy"]


def test_form_post_escapes_what_the_client_sent(server, metadata, browser):
    http, _ = browser
    state = '"><script>alert(1)</script>'
    with rp() as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"],
            code_verifier="v" * 43,
            response_mode="form_post",
            state=state,
        )
    page = http.get(url)
    assert "<script>alert" not in page.text
    assert form_post_of(page)[1]["state"] == state


def test_fragment_puts_the_answer_after_the_hash(server, metadata, browser):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp() as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, response_mode="fragment"
        )
        answer = http.get(url)
        assert answer.status_code == 302
        location = urlsplit(answer.headers["Location"])
        assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
        assert location.query == ""
        fields = dict(parse_qsl(location.fragment))
        assert set(fields) == {"code", "state", "iss"}
        assert fields["state"] == state and fields["iss"] == metadata["issuer"]
        token = client.fetch_token(
            metadata["token_endpoint"], code=fields["code"], code_verifier=verifier
        )
    assert token["access_token"]


def test_fragment_errors_go_after_the_hash(server, metadata):
    with rp() as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"],
            code_verifier="v" * 43,
            response_mode="fragment",
            prompt="none",
        )
    location = urlsplit(httpx.get(url).headers["Location"])
    fields = dict(parse_qsl(location.fragment))
    assert location.query == "" and fields["error"] == "login_required"
    assert fields["state"] == state and fields["iss"] == metadata["issuer"]


@pytest.mark.parametrize("mode", ["jwt", "query.jwt", "FORM_POST", "web_message"])
def test_an_unknown_response_mode_is_invalid_request_in_the_query(server, metadata, browser, mode):
    http, _ = browser
    with rp() as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43, response_mode=mode
        )
    answer = http.get(url)  # signed in: still no code
    assert answer.status_code == 302 and answer.headers["Location"].startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "response_mode" in query["error_description"][0]
    assert query["state"] == [state] and query["iss"] == [metadata["issuer"]]
    assert "code" not in query


def test_form_post_to_a_private_use_scheme_is_invalid_request(
    server, metadata, browser, make_client
):
    native = "com.example.app:/oauth/callback"
    app = make_client(
        grant_types=["authorization_code"], redirect_uris=[native], scopes=["openid"], public=True
    )
    http, _ = browser
    with OAuth2Client(
        client_id=app["client_id"],
        token_endpoint_auth_method="none",
        code_challenge_method="S256",
        redirect_uri=native,
        scope="openid",
    ) as client:
        url, state = client.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier="v" * 43, response_mode="form_post"
        )
    answer = http.get(url)
    assert answer.status_code == 302 and answer.headers["Location"].startswith(native + "?")
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["error"] == ["invalid_request"] and query["state"] == [state]


def test_discovery_lists_the_response_modes(metadata):
    assert metadata["response_modes_supported"] == ["query", "fragment", "form_post"]
