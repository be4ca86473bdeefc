"""Signed request objects (RFC 9101 JAR) and pushed authorization requests (RFC 9126 PAR)
over real HTTP: Authlib's client as the relying party pushes, the signed-in browser brings
the request_uri to /oauth/authorize, the code is exchanged; request objects are signed with
the client's own key (registered as ``jwks``); and every way to get them wrong."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import redis
from authlib.integrations.httpx_client import OAuth2Client
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.support.browser import follow_authorize
from tests.support.live import REPO_ROOT

from .test_authn_context import sign_in_again
from .test_flows import verify_jwt

REDIRECT = "https://app.example.com/cb"
URN = "urn:ietf:params:oauth:request_uri:"


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rp-1"})


@pytest.fixture
def jar_client(make_client, rsa_key) -> dict[str, Any]:
    """A confidential client that registered its RSA public key."""
    return make_client(
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "profile"],
        jwks={"keys": [rsa_key.as_dict(private=False)]},
    )


def rp(app: dict[str, Any], scope: str = "openid profile") -> OAuth2Client:
    return OAuth2Client(
        client_id=app["client_id"],
        client_secret=app.get("client_secret"),
        token_endpoint_auth_method="client_secret_basic" if app.get("client_secret") else "none",
        redirect_uri=REDIRECT,
        scope=scope,
        code_challenge_method="S256",
    )


def auth_params(client: OAuth2Client, metadata: dict[str, Any], verifier: str) -> dict[str, str]:
    """The authorization request Authlib's client would send, as parameters."""
    url, _ = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, nonce="n-" + verifier[:8]
    )
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sign(key: Any, claims: dict[str, Any], alg: str = "RS256", **header: Any) -> str:
    return jwt.encode({"alg": alg, **header}, claims, key, algorithms=[alg])


def request_object(
    app: dict[str, Any], metadata: dict[str, Any], params: dict[str, str], **claims: Any
) -> dict[str, Any]:
    now = int(time.time())
    return {
        **params,
        "iss": app["client_id"],
        "aud": metadata["issuer"],
        "client_id": app["client_id"],
        "iat": now,
        "exp": now + 60,
        **claims,
    }


def push(client: OAuth2Client, metadata: dict[str, Any], data: dict[str, str]) -> httpx.Response:
    """POST to the PAR endpoint, authenticated the way the client authenticates at /token."""
    return client.post(  # type: ignore[no-any-return]
        metadata["pushed_authorization_request_endpoint"],
        data=data,
        auth=client.client_auth(client.token_endpoint_auth_method),
    )


def authorize_url(metadata: dict[str, Any], **params: str) -> str:
    return metadata["authorization_endpoint"] + "?" + urlencode(params)


def error_at_client(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT), location
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert "code" not in query
    return query


def test_discovery_publishes_par_and_jar(metadata):
    assert metadata["pushed_authorization_request_endpoint"] == metadata["issuer"] + "/oauth/par"
    assert metadata["require_pushed_authorization_requests"] is False
    assert metadata["request_parameter_supported"] is True
    assert metadata["request_uri_parameter_supported"] is False  # nothing fetched by reference
    assert metadata["request_object_signing_alg_values_supported"] == [
        "RS256",
        "PS256",
        "ES256",
        "EdDSA",
    ]


def test_par_walk_push_authorize_code_token(server, metadata, browser, jar_client):
    http, account = browser
    verifier = secrets.token_urlsafe(48)
    with rp(jar_client) as client:
        params = auth_params(client, metadata, verifier)
        pushed = push(client, metadata, params)
        assert pushed.status_code == 201, pushed.text
        assert pushed.headers["Cache-Control"] == "no-store"
        body = pushed.json()
        assert body["request_uri"].startswith(URN) and body["expires_in"] == 90
        url = authorize_url(
            metadata, client_id=jar_client["client_id"], request_uri=body["request_uri"]
        )
        location = follow_authorize(http, url)  # consent page, approved, code
        query = parse_qs(urlsplit(location).query)
        assert location.startswith(REDIRECT) and query["state"] == [params["state"]]
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    claims = verify_jwt(server, token["id_token"], "RS256", aud=[jar_client["client_id"]]).claims
    assert claims["nonce"] == params["nonce"] and claims["sub"] == account.id
    replay = error_at_client(http.get(url))  # once only: the answer used it up (to the
    assert replay["error"] == "invalid_request_uri"  # client's only registered redirect URI)
    assert "push the authorization request again" in replay["error_description"]


def test_prompt_login_inside_a_pushed_request_signs_in_again_once(
    server, metadata, browser, jar_client
):
    http, account = browser
    first = http.get(f"{server.url}/api/v1/me").json()["auth_time"]
    time.sleep(1.1)
    verifier = secrets.token_urlsafe(48)
    with rp(jar_client) as client:
        params = {**auth_params(client, metadata, verifier), "prompt": "login"}
        pushed = push(client, metadata, params)
        url = authorize_url(
            metadata, client_id=jar_client["client_id"], request_uri=pushed.json()["request_uri"]
        )
        asked = http.get(url)
        assert asked.status_code == 302 and asked.headers["Location"].startswith("/login?")
        back = sign_in_again(server, http, asked.headers["Location"], account)
        assert back.status_code == 303
        location = follow_authorize(http, server.url + back.headers["Location"])
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert verify_jwt(server, token["id_token"], "RS256").claims["auth_time"] > first


def test_a_public_client_pushes_a_signed_request_object(server, metadata, browser, make_client):
    key = ECKey.generate_key("P-256", parameters={"kid": "native-1"})
    app = make_client(
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid", "profile"],
        public=True,
        jwks={"keys": [key.as_dict(private=False)]},
    )
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp(app) as client:
        params = auth_params(client, metadata, verifier)
        signed = sign(key, request_object(app, metadata, params), "ES256", kid="native-1")
        pushed = push(client, metadata, {"request": signed})  # client_id: by Authlib
        assert pushed.status_code == 201, pushed.text
        url = authorize_url(
            metadata, client_id=app["client_id"], request_uri=pushed.json()["request_uri"]
        )
        location = follow_authorize(http, url)
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert token["token_type"].lower() == "bearer" and "id_token" in token


def test_a_signed_request_object_by_value_at_authorize(
    server, metadata, browser, jar_client, rsa_key
):
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp(jar_client) as client:
        params = auth_params(client, metadata, verifier)
        signed = sign(rsa_key, request_object(jar_client, metadata, params))
        # Only the request object counts: the query's own scope and state are not used.
        url = authorize_url(
            metadata,
            client_id=jar_client["client_id"],
            request=signed,
            scope="openid users:write",
            state="from-the-query",
        )
        location = follow_authorize(http, url)
        assert parse_qs(urlsplit(location).query)["state"] == [params["state"]]
        token = client.fetch_token(
            metadata["token_endpoint"], authorization_response=location, code_verifier=verifier
        )
    assert sorted(token["scope"].split()) == ["openid", "profile"]


def b64json(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def hostile_objects(app, metadata, params, key) -> dict[str, str]:
    now = int(time.time())
    other = RSAKey.generate_key(2048, parameters={"kid": "rp-1"})
    good = request_object(app, metadata, params)
    unsigned = f"{b64json({'alg': 'none'})}.{b64json(good)}."
    return {
        "wrong key": sign(other, good),
        "alg none": unsigned,
        "hmac with the secret": sign(OctKey.import_key(app["client_secret"]), good, "HS256"),
        "expired": sign(key, {**good, "iat": now - 600, "exp": now - 300}),
        "not yet valid": sign(key, {**good, "nbf": now + 600}),
        "no exp": sign(key, {k: v for k, v in good.items() if k != "exp"}),
        "aud wrong": sign(key, {**good, "aud": "https://other.example"}),
        "iss wrong": sign(key, {**good, "iss": "someone-else"}),
        "client_id mismatch": sign(key, {**good, "client_id": "limen-cli"}),
        "nested request_uri": sign(key, {**good, "request_uri": URN + "x"}),
        "not a jwt": "not.a.jwt",
        "huge": "a" * 20_000,
    }


HOSTILE = [
    "wrong key",
    "alg none",
    "hmac with the secret",
    "expired",
    "not yet valid",
    "no exp",
    "aud wrong",
    "iss wrong",
    "client_id mismatch",
    "nested request_uri",
    "not a jwt",
    "huge",
]


@pytest.mark.parametrize("case", HOSTILE)
def test_a_bad_request_object_is_refused_at_authorize_and_at_par(
    metadata, jar_client, rsa_key, case
):
    with rp(jar_client) as client:
        params = auth_params(client, metadata, secrets.token_urlsafe(48))
        raw = hostile_objects(jar_client, metadata, params, rsa_key)[case]
        refused = httpx.get(  # the error goes to the registered redirect URI the query names
            authorize_url(
                metadata,
                client_id=jar_client["client_id"],
                redirect_uri=REDIRECT,
                state="outer",
                request=raw,
            )
        )
        query = error_at_client(refused)
        assert query["error"] == "invalid_request_object" and query["state"] == "outer"
        assert query["error_description"] and query["iss"] == metadata["issuer"]
        pushed = push(client, metadata, {"request": raw})
    assert pushed.status_code == 400, pushed.text
    assert pushed.json()["error"] == "invalid_request_object"


def test_a_client_without_keys_cannot_send_request_objects(metadata, make_client, rsa_key):
    app = make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    signed = sign(rsa_key, request_object(app, metadata, {"response_type": "code"}))
    query = error_at_client(
        httpx.get(authorize_url(metadata, client_id=app["client_id"], request=signed))
    )
    assert query["error"] == "invalid_request_object" and "jwks" in query["error_description"]


def test_without_a_registered_redirect_the_error_is_a_page(metadata, jar_client):
    answer = httpx.get(
        authorize_url(
            metadata,
            client_id=jar_client["client_id"],
            redirect_uri="https://evil.example/cb",
            request="x.y.z",
        )
    )
    assert answer.status_code == 400 and "Location" not in answer.headers


def _pushed(client: OAuth2Client, metadata: dict[str, Any]) -> str:
    pushed = push(client, metadata, auth_params(client, metadata, secrets.token_urlsafe(48)))
    assert pushed.status_code == 201, pushed.text
    return str(pushed.json()["request_uri"])


def test_an_expired_request_uri_is_refused(server, metadata, browser, jar_client):
    http, _ = browser
    with rp(jar_client) as client:
        request_uri = _pushed(client, metadata)
    store = redis.Redis.from_url(server.env["LIMEN_REDIS_URL"])
    key = "limen:par:" + hashlib.sha256(request_uri.encode()).hexdigest()
    assert 0 < store.ttl(key) <= 90  # a short life: RFC 9126 §2.2
    store.pexpire(key, 1)
    time.sleep(0.05)
    answer = http.get(
        authorize_url(metadata, client_id=jar_client["client_id"], request_uri=request_uri)
    )
    refused = error_at_client(answer)
    assert refused["error"] == "invalid_request_uri" and "expired" in refused["error_description"]


def test_a_secret_sent_in_the_form_is_not_kept_with_the_request(server, metadata, jar_client):
    with rp(jar_client) as client:
        params = auth_params(client, metadata, secrets.token_urlsafe(48))
    pushed = httpx.post(  # client_secret_post
        metadata["pushed_authorization_request_endpoint"],
        data={**params, "client_secret": jar_client["client_secret"]},
    )
    assert pushed.status_code == 201, pushed.text
    store = redis.Redis.from_url(server.env["LIMEN_REDIS_URL"])
    digest = hashlib.sha256(pushed.json()["request_uri"].encode()).hexdigest()
    record = json.loads(store.get("limen:par:" + digest))
    assert record["params"]["state"] == params["state"]
    assert "client_secret" not in record["params"]
    assert jar_client["client_secret"] not in json.dumps(record)


def test_another_clients_request_uri_is_refused(metadata, browser, jar_client, make_client):
    http, _ = browser
    other = make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT])
    with rp(jar_client) as client:
        request_uri = _pushed(client, metadata)
    stolen = http.get(
        authorize_url(
            metadata, client_id=other["client_id"], redirect_uri=REDIRECT, request_uri=request_uri
        )
    )
    assert error_at_client(stolen)["error"] == "invalid_request_uri"
    # ... and the owner can still use it: a refusal does not spend it.
    owner = http.get(
        authorize_url(metadata, client_id=jar_client["client_id"], request_uri=request_uri)
    )
    assert owner.status_code == 200 and 'name="decision"' in owner.text


def test_a_repeated_request_uri_is_refused(metadata, jar_client):
    with rp(jar_client) as client:
        first, second = _pushed(client, metadata), _pushed(client, metadata)
    url = authorize_url(metadata, client_id=jar_client["client_id"], request_uri=first)
    query = error_at_client(httpx.get(f"{url}&{urlencode({'request_uri': second})}"))
    assert query["error"] == "invalid_request" and "request_uri" in query["error_description"]


@pytest.mark.parametrize(
    ("request_uri", "error"),
    [
        ("https://rp.example/request/1", "request_uri_not_supported"),
        (URN + "never-handed-out", "invalid_request_uri"),
        (URN + "x" * 300, "invalid_request_uri"),
    ],
)
def test_request_uris_not_handed_out_here(metadata, jar_client, request_uri, error):
    answer = httpx.get(
        authorize_url(
            metadata,
            client_id=jar_client["client_id"],
            redirect_uri=REDIRECT,
            state="s1",
            request_uri=request_uri,
        )
    )
    query = error_at_client(answer)
    assert query["error"] == error and query["state"] == "s1"


def test_a_require_par_client_must_push(server, metadata, browser, make_client, rsa_key):
    app = make_client(
        grant_types=["authorization_code"],
        redirect_uris=[REDIRECT],
        scopes=["openid"],
        jwks={"keys": [rsa_key.as_dict(private=False)]},
        require_pushed_authorization_requests=True,
    )
    assert app["require_pushed_authorization_requests"] is True
    http, _ = browser
    verifier = secrets.token_urlsafe(48)
    with rp(app, scope="openid") as client:
        params = auth_params(client, metadata, verifier)
        plain = error_at_client(http.get(authorize_url(metadata, **params)))
        assert plain["error"] == "invalid_request" and "/oauth/par" in plain["error_description"]
        signed = sign(rsa_key, request_object(app, metadata, params))
        by_value = http.get(
            authorize_url(
                metadata, client_id=app["client_id"], redirect_uri=REDIRECT, request=signed
            )
        )
        assert error_at_client(by_value)["error"] == "invalid_request"
        request_uri = _pushed(client, metadata)
        location = follow_authorize(
            http, authorize_url(metadata, client_id=app["client_id"], request_uri=request_uri)
        )
    assert "code=" in location


def test_par_refuses_what_authorize_would(metadata, jar_client):
    with rp(jar_client) as client:
        good = auth_params(client, metadata, secrets.token_urlsafe(48))
        cases = {
            "request_uri": {**good, "request_uri": URN + "abc"},
            "no pkce": {k: v for k, v in good.items() if not k.startswith("code_challenge")},
            "unregistered redirect": {**good, "redirect_uri": "https://evil.example/cb"},
            "implicit": {**good, "response_type": "token"},
            "client_id of another": {**good, "client_id": "limen-cli"},
            "too big": {**good, "login_hint": "x" * 20_000},
        }
        for name, data in cases.items():
            answer = push(client, metadata, data)
            assert answer.status_code == 400, (name, answer.text)
            assert answer.headers["Content-Type"].startswith("application/json"), name
            assert answer.json()["error"] in (
                "invalid_request",
                "unsupported_response_type",
                "unauthorized_client",
            ), (name, answer.text)
            assert "Location" not in answer.headers, name


def test_par_authenticates_the_client(metadata, jar_client):
    endpoint = metadata["pushed_authorization_request_endpoint"]
    base = {"response_type": "code", "redirect_uri": REDIRECT, "code_challenge": "c" * 43}
    twice = httpx.post(
        endpoint,
        content=urlencode([*base.items(), ("redirect_uri", "https://evil.example/cb")]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=(jar_client["client_id"], jar_client["client_secret"]),
    )
    assert twice.status_code == 400 and "redirect_uri" in twice.json()["error_description"]
    for auth, data in (
        (None, {**base, "client_id": jar_client["client_id"]}),  # confidential: no secret
        ((jar_client["client_id"], "wrong"), base),
        (("no-such-client", "x"), base),
    ):
        answer = httpx.post(endpoint, data=data, auth=auth)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"] == "invalid_client"
    assert httpx.get(endpoint).status_code == 405


def small_rsa_jwk() -> dict[str, str]:
    """A 1024-bit RSA public key as a JWK (built by hand: joserfc will not make one)."""
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()  # noqa: S505

    def b64(value: int) -> str:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return {"kty": "RSA", "n": b64(numbers.n), "e": b64(numbers.e)}


@pytest.mark.parametrize(
    "jwks",
    [
        {"keys": []},
        {"keys": "nope"},
        [],
        {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]},
        {"keys": [RSAKey.generate_key(2048).as_dict(private=True)]},
        {"keys": [ECKey.generate_key("P-384").as_dict(private=False)]},
        {"keys": [small_rsa_jwk()]},
        {"keys": [{"kty": "RSA", "n": "!!", "e": "AQAB"}]},
        {"keys": [{**RSAKey.generate_key(2048).as_dict(private=False), "alg": "HS256"}]},
        {"keys": [{**RSAKey.generate_key(2048).as_dict(private=False), "use": "enc"}]},
        {"keys": [{"kty": "EC", "crv": "P-256", "x": 1, "y": 2}]},
    ],
    ids=[
        "empty",
        "not a list",
        "not a set",
        "symmetric",
        "private",
        "p-384",
        "rsa-1024",
        "junk",
        "hmac alg",
        "encryption key",
        "numbers",
    ],
)
def test_registration_refuses_unusable_keys(server, admin_headers, jwks):
    answer = httpx.post(
        f"{server.url}/api/v1/clients",
        json={
            "name": "bad-keys",
            "grant_types": ["authorization_code"],
            "redirect_uris": [REDIRECT],
            "jwks": jwks,
        },
        headers=admin_headers,
    )
    assert answer.status_code in (400, 422), answer.text
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert "jwks" in answer.text


def test_require_par_needs_the_code_grant(server, admin_headers):
    answer = httpx.post(
        f"{server.url}/api/v1/clients",
        json={
            "name": "svc",
            "grant_types": ["client_credentials"],
            "require_pushed_authorization_requests": True,
        },
        headers=admin_headers,
    )
    assert answer.status_code in (400, 422) and "authorization_code" in answer.text


def create_client_cli(server, stdin: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """``limen-server create-client`` as a real process, the JWK Set on standard input."""
    args = ["--name", "jar-cli", "--grant", "authorization_code", "--redirect-uri", REDIRECT]
    return subprocess.run(
        [sys.executable, "-m", "webapp.cli", "create-client", *args, *extra, "--json"],
        input=stdin,
        env=server.env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_create_client_registers_keys_and_require_par(server, metadata, admin_headers, rsa_key):
    jwks = json.dumps({"keys": [rsa_key.as_dict(private=False)]})
    created = create_client_cli(server, jwks, "--jwks-file", "-", "--require-par")
    assert created.returncode == 0, created.stderr
    app = json.loads(created.stdout)
    listed = httpx.get(f"{server.url}/api/v1/clients", headers=admin_headers).json()["items"]
    row = next(c for c in listed if c["client_id"] == app["client_id"])
    assert row["require_pushed_authorization_requests"] is True
    assert row["jwks"]["keys"][0]["n"] == rsa_key.as_dict(private=False)["n"]
    with rp(app, scope="") as client:
        params = auth_params(client, metadata, secrets.token_urlsafe(48))
        signed = sign(rsa_key, request_object(app, metadata, params))
        assert push(client, metadata, {"request": signed}).status_code == 201


@pytest.mark.parametrize(
    ("stdin", "code", "said"),
    [
        ("not json", 2, "not JSON"),
        (json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}), 1, "jwks"),
    ],
    ids=["not json", "symmetric key"],
)
def test_create_client_refuses_unusable_jwks(server, stdin, code, said):
    refused = create_client_cli(server, stdin, "--jwks-file", "-")
    assert refused.returncode == code and said in refused.stderr
    assert refused.stdout == ""
