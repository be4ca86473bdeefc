"""`limen authz check` and `limen policy validate|test|apply|diff|history|rollback`: Cedar
policies of an organisation, from files a team keeps in its repository.

A policy directory holds ``policies.cedar``, ``schema.json`` (Cedar JSON schema) and, when
templates are linked, ``links.json``. `limen policy test CASES.json` runs expected decisions
against the local files (nothing is saved) and exits 1 on any mismatch, for CI.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import httpx

from ..authorize import USER_TYPE
from ..authorize import as_entity as entity
from ..errors import LimenError, UsageError
from ..options import json_option, profile_options, runtime
from ..output import print_json, print_table

if TYPE_CHECKING:
    from ..runtime import Runtime


org_option = click.option(
    "--org", required=True, envvar="LIMEN_ORG", help="The organisation (or LIMEN_ORG)."
)
dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Directory with policies.cedar, schema.json and links.json.",
)


def _call(rt: Runtime, method: str, path: str, **kwargs: Any) -> httpx.Response:
    url = rt.settings.server + path if path.startswith("/access/") else rt.api_url(path)
    response = rt.request(method, url, **kwargs)
    if response.status_code == 422:
        raise _refusal(response)
    rt.manager.check(response, what=f"{method} {response.request.url.path}")
    return response


def _refusal(response: httpx.Response) -> LimenError:
    """Cedar's messages, one per line, as ``file:line:column: message``."""
    body = response.json()
    lines = []
    for error in body.get("errors") or []:
        where = "policies.cedar"
        if "line" in error:
            where += f":{error['line']}:{error.get('column', 1)}"
        elif "policy" not in error:
            where = "schema.json"
        lines.append(f"{where}: {error.get('message')}")
    return LimenError(str(body.get("detail")), "\n".join(lines) or None)


def load(directory: Path) -> dict[str, Any]:
    """The policy document in ``directory``."""
    try:
        document: dict[str, Any] = {
            "policies": (directory / "policies.cedar").read_text(),
            "schema": json.loads((directory / "schema.json").read_text()),
        }
        links = directory / "links.json"
        document["links"] = json.loads(links.read_text()) if links.exists() else []
    except FileNotFoundError as exc:
        raise UsageError(f"{exc.filename} is missing.", "See `limen policy --help`.") from exc
    except ValueError as exc:
        raise UsageError(f"A JSON file in {directory} is not valid JSON: {exc}") from exc
    return document


@click.group()
def authz() -> None:
    """Ask for authorization decisions."""


@authz.command("check")
@click.argument("subject")
@click.argument("action")
@click.argument("resource")
@org_option
@click.option("--context", "context_json", default="{}", help="Context as a JSON object.")
@click.option("--explain", is_flag=True, help="Name the policies that decided.")
@profile_options
@json_option
def check(
    subject: str,
    action: str,
    resource: str,
    org: str,
    context_json: str,
    explain: bool,
    as_json: bool,
) -> None:
    """May SUBJECT (an email or Type::"id") do ACTION on RESOURCE (Type::"id")?
    Exit 0 when allowed, 1 when denied."""
    try:
        context = json.loads(context_json)
    except ValueError as exc:
        raise UsageError(f"--context is not JSON: {exc}") from exc
    if not isinstance(context, dict):
        raise UsageError("--context must be a JSON object.")
    body = {
        "subject": entity(subject, USER_TYPE),
        "action": {"name": action},
        "resource": entity(resource),
        "context": {**context, "org": org},
        "options": {"explain": explain},
    }
    answer = _call(runtime(), "POST", "/access/v1/evaluation", json=body).json()
    if as_json:
        print_json(answer)
    else:
        click.echo("allow" if answer["decision"] else "deny")
        for policy in (answer.get("context") or {}).get("policies", []):
            click.echo(f"  {policy['effect']}: {policy.get('id') or policy['policy']}")
    raise SystemExit(0 if answer["decision"] else 1)


@click.group()
def policy() -> None:
    """Validate, test, apply and roll back an organisation's Cedar policies."""


@policy.command("validate")
@org_option
@dir_option
@profile_options
@json_option
def validate(org: str, directory: Path, as_json: bool) -> None:
    """Have the server validate the local files (nothing is saved)."""
    _call(runtime(), "POST", f"orgs/{org}/policies/validate", json=load(directory))
    print_json({"valid": True}) if as_json else click.echo("valid")


@policy.command("test")
@click.argument("cases", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@org_option
@dir_option
@click.option("--current", is_flag=True, help="Test the policies in force, not local files.")
@profile_options
@json_option
def test(org: str, cases: Path, directory: Path, current: bool, as_json: bool) -> None:
    """Run CASES (a JSON list of {subject, action, resource, context?, expect: allow|deny});
    exit 1 on any mismatch."""
    rt = runtime()
    try:
        items = json.loads(cases.read_text())
    except ValueError as exc:
        raise UsageError(f"{cases} is not valid JSON: {exc}") from exc
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("subject"), str):
            item["subject"] = entity(item["subject"], USER_TYPE)
        if isinstance(item, dict) and isinstance(item.get("resource"), str):
            item["resource"] = entity(item["resource"])
    if current:
        now = _call(rt, "GET", f"orgs/{org}/policies").json()
        document = {k: now[k] for k in ("schema", "policies", "links")}
    else:
        document = load(directory)
    report = _call(rt, "POST", f"orgs/{org}/policies/test", json={**document, "cases": items})
    outcome = report.json()
    if as_json:
        print_json(outcome)
    else:
        for i, result in enumerate(outcome["results"], 1):
            mark = "ok  " if result["passed"] else "FAIL"
            got = result.get("decision") or f"error: {result.get('error')}"
            click.echo(f"{mark} {result['name'] or i}: expected {result['expected']}, got {got}")
        click.echo(f"{outcome['passed']} passed, {outcome['failed']} failed")
    raise SystemExit(1 if outcome["failed"] else 0)


@policy.command("apply")
@org_option
@dir_option
@click.option("--note", default="", help="Why (kept in the history).")
@profile_options
@json_option
def apply(org: str, directory: Path, note: str, as_json: bool) -> None:
    """Save the local files as the organisation's new policy version."""
    saved = _call(
        runtime(), "PUT", f"orgs/{org}/policies", json={**load(directory), "note": note}
    ).json()
    if as_json:
        print_json(saved)
    else:
        click.echo(f"Applied: {org} is at version {saved['version']}.")


def _text(document: dict[str, Any]) -> dict[str, list[str]]:
    return {
        "policies.cedar": document["policies"].splitlines(keepends=True),
        "schema.json": (json.dumps(document["schema"], indent=2, sort_keys=True) + "\n").splitlines(
            keepends=True
        ),
        "links.json": (json.dumps(document["links"], indent=2, sort_keys=True) + "\n").splitlines(
            keepends=True
        ),
    }


@policy.command("diff")
@org_option
@dir_option
@profile_options
def diff(org: str, directory: Path) -> None:
    """Show how the local files differ from the version in force; exit 1 if they do."""
    now = _call(runtime(), "GET", f"orgs/{org}/policies").json()
    server, local = _text(now), _text(load(directory))
    changed = False
    for name in server:
        lines = list(
            difflib.unified_diff(
                server[name], local[name], f"{org}@v{now['version']}/{name}", f"local/{name}"
            )
        )
        changed = changed or bool(lines)
        click.echo("".join(lines), nl=False)
    raise SystemExit(1 if changed else 0)


@policy.command("history")
@org_option
@profile_options
@json_option
def history(org: str, as_json: bool) -> None:
    """Every version: who, when, why."""
    items = _call(runtime(), "GET", f"orgs/{org}/policies/versions").json()["items"]
    if as_json:
        print_json({"items": items})
        return
    print_table(
        ["version", "when", "author", "note"],
        [[v["version"], v["created_at"], v["author"], v["note"]] for v in items],
    )


@policy.command("rollback")
@click.argument("version", type=click.IntRange(1))
@org_option
@profile_options
@json_option
def rollback(version: int, org: str, as_json: bool) -> None:
    """Make VERSION current again (saved as a new version)."""
    saved = _call(
        runtime(), "POST", f"orgs/{org}/policies/rollback", json={"version": version}
    ).json()
    if as_json:
        print_json(saved)
    else:
        click.echo(f"Rolled back: {org} is at version {saved['version']} (= {version}).")
