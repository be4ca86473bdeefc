"""Play the browser over plain HTTP: sign in through the portal form, follow /oauth/authorize,
approve a device code on the /device page. Every step is the real page and its CSRF token."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, f"no CSRF token in page:\n{html[:500]}"
    return match.group(1)


def sign_in(http: httpx.Client, base_url: str, email: str, password: str) -> None:
    """Sign in through the portal's form; the client then holds the portal cookies."""
    page = http.get(f"{base_url}/login")
    response = http.post(
        f"{base_url}/login",
        data={
            "email": email,
            "password": password,
            "next": "/",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.status_code == 303, response.text


def follow_authorize(http: httpx.Client, authorize_url: str, *, approve: bool = True) -> str:
    """GET the authorize URL as a signed-in browser; answer a consent page if one is shown.
    Returns the Location the server finally redirects to (the client's redirect URI)."""
    response = http.get(authorize_url, follow_redirects=False)
    if response.status_code == 200 and "decision" in response.text:
        action = re.search(
            r'<form method="post" action="([^"]+)" class="actions"', response.text
        ).group(1)
        base = str(response.url).split("/oauth/")[0]
        response = http.post(
            base + action.replace("&amp;", "&"),
            data={
                "csrf_token": csrf_from(response.text),
                "decision": "approve" if approve else "deny",
            },
        )
    assert response.status_code == 302, f"{response.status_code}: {response.text[:500]}"
    return response.headers["Location"]


def approve_device(
    http: httpx.Client, base_url: str, user_code: str, *, approve: bool = True
) -> httpx.Response:
    """Enter the user code on /device, then approve (or deny) on the confirmation page."""
    page = http.get(f"{base_url}/device")
    confirm = http.post(
        f"{base_url}/device", data={"user_code": user_code, "csrf_token": csrf_from(page.text)}
    )
    assert confirm.status_code == 200, confirm.text[:500]
    return http.post(
        f"{base_url}/device",
        data={
            "user_code": user_code,
            "csrf_token": csrf_from(confirm.text),
            "decision": "approve" if approve else "deny",
        },
    )
