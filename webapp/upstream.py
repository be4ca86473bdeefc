"""Upstream identity providers, configured by ``LIMEN_UPSTREAM_*`` (``Settings.upstream``).

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

from dataclasses import dataclass, field

from flask import current_app

from webapp.identity.provisioning import RolePolicy
from webapp.settings import UpstreamSettings


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


def provider_from(config: UpstreamSettings) -> UpstreamProvider:
    """A provider as the sign-in code uses it, from its section of the settings."""
    return UpstreamProvider(
        name=config.name,
        label=config.label,
        kind=config.kind,
        issuer=config.issuer,
        client_id=config.client_id,
        client_secret=config.client_secret.get_secret_value(),
        scopes=config.scopes,
        groups_claim=config.groups_claim,
        policy=RolePolicy(
            role_map=dict(config.role_map),
            default_role=config.default_role,
            link_by_email=config.link_by_email,
            teams_org=config.teams_org,
        ),
        api_url=config.api_url,
        allowed_orgs=config.allowed_orgs,
    )


def providers() -> list[UpstreamProvider]:
    """The application's configured providers, in the order the settings name them."""
    return list(current_app.extensions["limen.upstream"][1].values())
