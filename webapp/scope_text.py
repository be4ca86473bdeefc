"""What each scope means, in the words shown to people on consent and device pages."""

from __future__ import annotations

SCOPE_TEXT = {
    "openid": "Confirm who you are",
    "profile": "See your name and roles",
    "email": "See your email address",
    "offline_access": "Stay signed in (refresh tokens)",
    "keys:read": "List your API keys",
    "keys:write": "Create, rotate and revoke your API keys",
    "sessions:read": "See your active sessions",
    "sessions:write": "Sign out your sessions",
    "users:read": "See all users (admin)",
    "users:write": "Change users and roles (admin)",
    "clients:read": "See OAuth clients (admin)",
    "clients:write": "Manage OAuth clients (admin)",
    "audit:read": "Read the audit log (admin)",
    "jobs:read": "See background jobs (admin)",
    "jobs:write": "Run background jobs (admin)",
    "signing-keys:write": "Rotate signing keys (admin)",
    "authz:evaluate": "Ask Limen for authorization decisions (AuthZEN)",
    "authz:read": "See organisations, teams and policies (admin)",
    "authz:write": "Change organisations, teams and policies (admin)",
}


def scope_descriptions(scopes: list[str]) -> list[tuple[str, str]]:
    return [(s, SCOPE_TEXT.get(s, s)) for s in scopes]
