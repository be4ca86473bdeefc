"""Upstream identity providers, configured from ``LIMEN_UPSTREAM_*`` environment variables.

LIMEN_UPSTREAM_PROVIDERS=corp                      names, comma-separated
LIMEN_UPSTREAM_CORP_ISSUER=https://idp.example.com (generic OIDC: discovery from here)
LIMEN_UPSTREAM_CORP_CLIENT_ID=... / _CLIENT_SECRET=...
LIMEN_UPSTREAM_CORP_LABEL="Corporate SSO"          shown on the sign-in page
LIMEN_UPSTREAM_CORP_SCOPES="openid email profile groups"
LIMEN_UPSTREAM_CORP_GROUPS_CLAIM=groups
LIMEN_UPSTREAM_CORP_ROLE_MAP="limen-admins=admin,data=analyst"
LIMEN_UPSTREAM_CORP_DEFAULT_ROLE=analyst           "" means: no mapped group, no access
LIMEN_UPSTREAM_CORP_LINK_BY_EMAIL=false            link to an existing account by verified email

GitHub (or GitHub Enterprise) instead of discovery:

LIMEN_UPSTREAM_GH_TYPE=github
LIMEN_UPSTREAM_GH_WEB_URL=https://github.com       GHE: https://github.example.com
LIMEN_UPSTREAM_GH_API_URL=https://api.github.com   GHE: https://github.example.com/api/v3
LIMEN_UPSTREAM_GH_ALLOWED_ORGS=acme                only members of these orgs may sign in
LIMEN_UPSTREAM_GH_ROLE_MAP="acme/platform=admin"   org or org/team-slug -> role
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from webapp.identity.provisioning import RolePolicy

PREFIX = "LIMEN_UPSTREAM_"


class UpstreamConfigError(ValueError):
    """A provider's settings are incomplete; the message names the variable to set."""


@dataclass(frozen=True)
class UpstreamProvider:
    name: str
    label: str
    kind: str  # oidc | github
    issuer: str  # the OIDC issuer; for GitHub, its web URL
    client_id: str
    client_secret: str
    scopes: str
    groups_claim: str
    policy: RolePolicy = field(default_factory=RolePolicy)
    api_url: str = ""
    allowed_orgs: frozenset[str] = frozenset()


def _role_map(raw: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        group, sep, role = item.partition("=")
        if not sep or role.strip() not in ("admin", "analyst"):
            raise UpstreamConfigError(f"role map entry {item!r} must look like 'group=admin'")
        pairs[group.strip()] = role.strip()
    return pairs


def load_providers(environ: Mapping[str, str] | None = None) -> list[UpstreamProvider]:
    env = os.environ if environ is None else environ
    names = [n.strip().lower() for n in env.get(PREFIX + "PROVIDERS", "").split(",") if n.strip()]
    providers = []
    for name in names:
        key = PREFIX + name.upper().replace("-", "_") + "_"

        def need(var: str, key: str = key, name: str = name) -> str:
            value = env.get(key + var, "").strip()
            if not value:
                raise UpstreamConfigError(f"{key}{var} is required for provider {name!r}")
            return value

        kind = env.get(key + "TYPE", "oidc").strip().lower()
        if kind not in ("oidc", "github"):
            raise UpstreamConfigError(f"{key}TYPE must be oidc or github, not {kind!r}")
        github = kind == "github"
        issuer = env.get(key + "WEB_URL", "https://github.com") if github else need("ISSUER")
        orgs = env.get(key + "ALLOWED_ORGS", "")
        default_scopes = "read:user user:email read:org" if github else "openid email profile"
        providers.append(
            UpstreamProvider(
                name=name,
                label=env.get(key + "LABEL", "GitHub" if github else name.title()),
                kind=kind,
                issuer=issuer.rstrip("/"),
                api_url=env.get(key + "API_URL", "https://api.github.com").rstrip("/"),
                allowed_orgs=frozenset(o.strip() for o in orgs.split(",") if o.strip()),
                client_id=need("CLIENT_ID"),
                client_secret=need("CLIENT_SECRET"),
                scopes=env.get(key + "SCOPES", default_scopes),
                groups_claim=env.get(key + "GROUPS_CLAIM", "groups"),
                policy=RolePolicy(
                    role_map=_role_map(env.get(key + "ROLE_MAP", "")),
                    default_role=env.get(key + "DEFAULT_ROLE", "analyst").strip() or None,
                    link_by_email=env.get(key + "LINK_BY_EMAIL", "false").lower() == "true",
                ),
            )
        )
    return providers
