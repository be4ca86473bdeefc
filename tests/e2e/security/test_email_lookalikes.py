"""Finding 8: addresses are compared in their normalised form (Unicode NFKC, IDNA domain,
case-insensitive), so a look-alike of an existing address cannot register a second account."""

from __future__ import annotations

import secrets

import pytest

from tests.support.factories import PASSWORD, Api

pytestmark = pytest.mark.both_backends  # uniqueness, concurrency and transactions differ

FULLWIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def wide(text: str) -> str:
    """The full-width look-alike of ASCII text (U+FF52 U+FF54 for "rt")."""
    return text.translate(FULLWIDTH)


def register(api, email: str):
    return api.http.post("/auth/register", json={"email": email, "password": PASSWORD})


@pytest.mark.parametrize(
    ("original", "look_alike"),
    [
        ("rt-analyst-{t}@example.com", wide("rt") + "-analyst-{t}@example.com"),
        ("rt-analyst-{t}@example.com", "rt-analyst-{t}@" + wide("EXAMPLE") + ".com"),
        ("ana-{t}@bücher.example", "ana-{t}@xn--bcher-kva.example"),
        ("ana-{t}@xn--bcher-kva.example", "ANA-{t}@BÜCHER.example"),
        ("ﬁnn-{t}@example.com", "finn-{t}@example.com"),
    ],
    ids=["fullwidth local part", "fullwidth domain", "idna", "idna upper", "ligature"],
)
def test_a_look_alike_of_an_existing_address_is_a_conflict(api, original, look_alike):
    tag = secrets.token_hex(3)
    first = register(api, original.format(t=tag))
    assert first.status_code == 201, first.text
    second = register(api, look_alike.format(t=tag))
    assert second.status_code == 409, second.text


def test_any_spelling_of_the_address_signs_in_to_the_one_account(api):
    tag = secrets.token_hex(3)
    account = register(api, f"rt-{tag}@example.com").json()
    for spelling in (f"{wide('rt')}-{tag}@example.com", f"RT-{tag}@EXAMPLE.COM"):
        login = api.http.post("/auth/login", json={"email": spelling, "password": PASSWORD})
        assert login.status_code == 200, login.text
        me = api.me(login.json()["access_token"]).json()
        assert me["sub"] == account["id"]


def test_internal_domains_are_refused_unless_an_admin_allows_them(make_database, start_server):
    node = start_server(
        make_database("sqlite"), LIMEN_EMAIL_INTERNAL_DOMAINS="corp, internal,build.local"
    )
    with Api(node.url) as api:
        for domain in ("example.corp", "hr.internal", "ci.build.local"):
            response = register(api, f"dev-{secrets.token_hex(3)}@{domain}")
            assert response.status_code == 201, response.text
        for domain in ("other.local", "x.localhost", "corp.example.invalid"):
            refused = register(api, f"dev-{secrets.token_hex(3)}@{domain}")
            assert refused.status_code == 422, (domain, refused.text)
