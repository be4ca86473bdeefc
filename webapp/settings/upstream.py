"""The upstream identity providers' section of the settings (``Settings.upstream``).

Read from ``LIMEN_UPSTREAM_PROVIDERS`` and ``LIMEN_UPSTREAM_<NAME>_*`` (see ``webapp.upstream``
for what each variable means); plain data here, turned into providers by ``webapp.upstream``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field, SecretStr

UPSTREAM_PREFIX = "LIMEN_UPSTREAM_"
UPSTREAM_SUFFIXES = (
    "TYPE",
    "ISSUER",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "LABEL",
    "SCOPES",
    "GROUPS_CLAIM",
    "ROLE_MAP",
    "TEAMS_ORG",
    "DEFAULT_ROLE",
    "LINK_BY_EMAIL",
    "WEB_URL",
    "API_URL",
    "ALLOWED_ORGS",
)


def variable_for(config: UpstreamSettings, field: str) -> str:
    """The ``LIMEN_UPSTREAM_<NAME>_*`` variable a field of a provider's settings comes from."""
    suffix = {"kind": "TYPE", "issuer": "WEB_URL" if config.kind == "github" else "ISSUER"}.get(
        field, field.upper()
    )
    return _upstream_key(config.name) + suffix


class UpstreamSettings(BaseModel):
    """One upstream identity provider (``LIMEN_UPSTREAM_<NAME>_*``; see ``webapp.upstream``)."""

    model_config = {"frozen": True, "extra": "forbid"}

    name: str
    kind: Literal["oidc", "github"] = "oidc"
    label: str
    issuer: str  # the OIDC issuer; for GitHub, its web URL
    client_id: str
    client_secret: SecretStr
    scopes: str
    groups_claim: str = "groups"
    role_map: dict[str, Literal["admin", "analyst"]] = Field(default_factory=dict)
    default_role: Literal["admin", "analyst"] | None = "analyst"
    link_by_email: bool = False
    api_url: str = "https://api.github.com"
    allowed_orgs: frozenset[str] = frozenset()
    # The organisation whose teams follow this provider's groups on every sign-in.
    teams_org: str | None = None


def _upstream_key(name: str) -> str:
    return UPSTREAM_PREFIX + name.upper().replace("-", "_") + "_"


def upstream_names(environ: Mapping[str, str]) -> list[str]:
    raw = environ.get(UPSTREAM_PREFIX + "PROVIDERS", "")
    return [n.strip().lower() for n in raw.split(",") if n.strip()]


def _role_map(raw: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (p.strip() for p in raw.split(","))):
        group, sep, role = item.partition("=")
        if not sep or role.strip() not in ("admin", "analyst"):
            raise ValueError(f"role map entry {item!r} must look like 'group=admin'")
        pairs[group.strip()] = role.strip()
    return pairs


def upstream_from_environ(environ: Mapping[str, str]) -> tuple[UpstreamSettings, ...]:
    """Every provider named in ``LIMEN_UPSTREAM_PROVIDERS``, from its ``LIMEN_UPSTREAM_<NAME>_*``
    variables; a missing or malformed one is a ValueError naming the variable to set."""
    found = []
    for name in upstream_names(environ):
        key = _upstream_key(name)

        def get(var: str, default: str = "", key: str = key) -> str:
            return environ.get(key + var, default).strip()

        def need(var: str, key: str = key, name: str = name) -> str:
            value = get(var)
            if not value:
                raise ValueError(f"{key}{var} is required for provider {name!r}")
            return value

        kind = get("TYPE", "oidc").lower()
        if kind not in ("oidc", "github"):
            raise ValueError(f"{key}TYPE must be oidc or github, not {kind!r}")
        github = kind == "github"
        try:
            role_map = _role_map(get("ROLE_MAP"))
        except ValueError as exc:
            raise ValueError(f"{key}ROLE_MAP: {exc}") from exc
        default_role = get("DEFAULT_ROLE", "analyst") or None
        if default_role not in (None, "admin", "analyst"):
            raise ValueError(f"{key}DEFAULT_ROLE must be admin, analyst or empty")
        issuer = get("WEB_URL", "https://github.com") if github else need("ISSUER")
        found.append(
            UpstreamSettings(
                name=name,
                kind=kind,  # type: ignore[arg-type]
                label=get("LABEL") or ("GitHub" if github else name.title()),
                issuer=issuer.rstrip("/"),
                client_id=need("CLIENT_ID"),
                client_secret=SecretStr(need("CLIENT_SECRET")),
                scopes=get("SCOPES")
                or ("read:user user:email read:org" if github else "openid email profile"),
                groups_claim=get("GROUPS_CLAIM", "groups"),
                role_map=role_map,  # type: ignore[arg-type]
                default_role=default_role,  # type: ignore[arg-type]
                link_by_email=get("LINK_BY_EMAIL", "false").lower() == "true",
                api_url=get("API_URL", "https://api.github.com").rstrip("/"),
                allowed_orgs=frozenset(
                    o.strip() for o in get("ALLOWED_ORGS").split(",") if o.strip()
                ),
                teams_org=get("TEAMS_ORG") or None,
            )
        )
    return tuple(found)
