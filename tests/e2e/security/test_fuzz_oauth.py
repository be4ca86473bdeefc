"""Finding 7, proved by fuzzing: hypothesis throws forms, queries, bodies and headers at the
OAuth endpoints (token, authorize, device, PAR, revoke, introspect, userinfo) of a live node, signed
in and not. Zero 5xx, and every refusal in the endpoint's own error format. Bounded and
derandomized, so CI stays fast and deterministic (schemathesis covers /api/v1 the same way)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.browser import sign_in
from tests.support.factories import PASSWORD, create_user

FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
FIELDS = [
    "grant_type",
    "client_id",
    "client_secret",
    "code",
    "code_verifier",
    "redirect_uri",
    "refresh_token",
    "scope",
    "device_code",
    "token",
    "token_type_hint",
    "response_type",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "user_code",
    "decision",
    "login_hint",
    "prompt",
    "request",
    "request_uri",
]
TRICKY = [
    "",
    "\x00",
    "limen-cli",
    "limen-portal",
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "code",
    "S256",
    "plain",
    "openid profile offline_access",
    "http://127.0.0.1:65536/callback",
    "http://127.0.0.1:0/callback",
    "http://[::1",
    "http://[::1]:99999/cb",
    "http://127.0.0.1:45678/callback",
    "https://evil.example/cb",
    "limen_rt_" + "A" * 43,
    "limen_" + "a" * 46,
    "eyJhbGciOiJub25lIn0.e30.",
    "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJsaW1lbi1jbGkifQ.c2ln",
    "urn:ietf:params:oauth:request_uri:x",
    "BCDF-GHJK",
    "x" * 5000,
    "%ff%fe",
    "é\u202e\ufeff",
]
values = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30))
raw_values = st.one_of(
    values.map(lambda v: v.encode("utf-8", "surrogatepass")), st.binary(max_size=30)
)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60)
AUTHORIZATION = st.one_of(
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    printable.map(lambda t: "Basic " + t),
    printable.map(lambda t: "Bearer " + t),
    printable,
).map(str.strip)  # HTTP trims a header value's outer whitespace; httpx refuses to send it
HEADERS = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": AUTHORIZATION,
        "Host": st.sampled_from(["evil.example", "127.0.0.1:1", "[::1", "a" * 300, "x y"]),
        "Content-Type": st.sampled_from(
            [
                "application/json",
                "text/plain",
                "multipart/form-data",
                "application/x-www-form-urlencoded; charset=latin-1",
            ]
        ),
        "X-Forwarded-For": printable.map(str.strip),
        "Cookie": printable.map(str.strip),
    },
)


def encoded(form: dict[str, bytes]) -> bytes:
    """A form body whose values may be any bytes, invalid UTF-8 included."""
    return "&".join(f"{k}={quote_from_bytes(v)}" for k, v in form.items()).encode()


FORMS = st.dictionaries(st.sampled_from(FIELDS), raw_values, max_size=7).map(encoded)
BODIES = st.one_of(FORMS, st.binary(max_size=200))
# Queries end up in access logs: no secret-shaped values there (the suite scans its logs).
QUERIES = st.dictionaries(
    st.sampled_from(FIELDS), raw_values.filter(lambda v: not v.startswith(b"limen_")), max_size=7
).map(encoded)


@pytest.fixture(scope="module")
def node(make_database, start_server):
    """PostgreSQL, as in production: it refuses input SQLite takes (NUL in text)."""
    return start_server(
        make_database("postgresql"),
        LIMEN_RATELIMIT_TOKEN="100000/minute",
        LIMEN_RATELIMIT_TOKEN_CLIENT="100000/minute",
        LIMEN_RATELIMIT_DEVICE_ENTRY="100000/minute",
        LIMEN_RATELIMIT_DEVICE_CODE="100000/minute",
    )


@pytest.fixture(scope="module")
def clients(node) -> Iterator[dict[str, httpx.Client]]:
    with (
        httpx.Client(base_url=node.url, timeout=30) as anonymous,
        httpx.Client(base_url=node.url, timeout=30) as browser,
    ):
        sign_in(browser, node.url, create_user(node), PASSWORD)
        yield {"anonymous": anonymous, "signed in": browser}


@pytest.fixture(scope="module")
def send(clients) -> Callable[..., httpx.Response]:
    """A request as someone; a refusal that clears the browser's cookies does not sign it
    out for the next example."""
    jar = httpx.Cookies(clients["signed in"].cookies)

    def request(who: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        http = clients[who]
        http.cookies = httpx.Cookies(jar) if who == "signed in" else httpx.Cookies()
        return http.request(method, url, **kwargs)

    return request


def check(response: httpx.Response, oauth_json: bool) -> None:
    sent = response.request
    what = f"{sent.method} {sent.url} {dict(sent.headers)} {sent.content[:300]!r}"
    assert response.status_code < 500, f"{response.status_code} for {what}: {response.text[:300]}"
    if oauth_json and response.status_code in (400, 401):
        body: Any = response.json()
        assert isinstance(body, dict) and "error" in body, f"{what}: {response.text[:300]}"


POSTED = [
    ("/oauth/token", True),
    ("/oauth/device_authorization", True),
    ("/oauth/par", True),
    ("/oauth/revoke", True),
    ("/oauth/introspect", True),
    ("/oauth/userinfo", False),
    ("/oauth/authorize", False),
    ("/device", False),
]


WHO = st.sampled_from(["anonymous", "signed in"])


@pytest.mark.parametrize(("path", "oauth_json"), POSTED, ids=[p for p, _ in POSTED])
def test_posted_forms_and_headers_never_crash(send, path, oauth_json):
    @FUZZ
    @given(who=WHO, body=BODIES, headers=HEADERS)
    def attack(who: str, body: bytes, headers: dict[str, str]) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded", **headers}
        check(send(who, "POST", path, content=body, headers=headers), oauth_json)

    attack()


@pytest.mark.parametrize("path", ["/oauth/authorize", "/device", "/oauth/userinfo"])
def test_queries_and_headers_never_crash(send, path):
    @FUZZ
    @given(who=WHO, query=QUERIES, headers=HEADERS)
    def attack(who: str, query: bytes, headers: dict[str, str]) -> None:
        check(send(who, "GET", f"{path}?{query.decode()}", headers=headers), False)

    attack()
