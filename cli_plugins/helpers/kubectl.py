"""`limen kubectl-credential`: a kubectl exec credential plugin. It prints an ExecCredential
(client.authentication.k8s.io, v1 unless kubectl asks for v1beta1 in KUBERNETES_EXEC_INFO)
whose ``status.token`` is a Limen access token and ``status.expirationTimestamp`` its expiry
in RFC 3339, so kubectl caches it exactly as long as it works."""

from __future__ import annotations

import json
import os
from typing import Any

import click

from ..errors import UsageError
from ..options import profile_options, runtime
from ..output import print_json, rfc3339

GROUP = "client.authentication.k8s.io"
VERSIONS = (f"{GROUP}/v1", f"{GROUP}/v1beta1")


def requested_version(exec_info: str | None) -> str:
    """The apiVersion kubectl asked for (KUBERNETES_EXEC_INFO), else v1."""
    if not exec_info:
        return VERSIONS[0]
    try:
        version = json.loads(exec_info).get("apiVersion") or VERSIONS[0]
    except (ValueError, AttributeError) as exc:
        raise UsageError(f"KUBERNETES_EXEC_INFO is not a JSON object: {exc}") from exc
    if version not in VERSIONS:
        raise UsageError(
            f"kubectl asked for ExecCredential {version}; limen speaks {', '.join(VERSIONS)}.",
            f"Set apiVersion: {VERSIONS[0]} in the user's exec section of your kubeconfig.",
        )
    return str(version)


def exec_credential(version: str, info: dict[str, Any]) -> dict[str, Any]:
    status: dict[str, Any] = {"token": info["access_token"]}
    if info["expires_at"] is not None:
        status["expirationTimestamp"] = rfc3339(info["expires_at"])
    return {"apiVersion": version, "kind": "ExecCredential", "status": status}


@click.command("kubectl-credential")
@profile_options
def kubectl_credential() -> None:
    """Print a kubectl ExecCredential with a fresh access token (for `users[].user.exec`)."""
    from ..commands.tokens import verified_token

    version = requested_version(os.environ.get("KUBERNETES_EXEC_INFO"))
    print_json(exec_credential(version, verified_token(runtime())))
