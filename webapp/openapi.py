"""OpenAPI 3.1 generated from the routes and the same pydantic schemas that validate bodies."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from webapp.schemas import ProblemOut

F = TypeVar("F", bound=Callable[..., Any])
API_VERSION = "1"
DOCUMENTED_PREFIXES = ("/api/v1", "/auth")


@dataclass
class Operation:
    summary: str
    body: type[BaseModel] | None = None
    responses: dict[int, type[BaseModel] | None] = field(default_factory=dict)
    auth: bool = True


def documented(
    summary: str,
    *,
    body: type[BaseModel] | None = None,
    responses: dict[int, type[BaseModel] | None] | None = None,
    auth: bool = True,
) -> Callable[[F], F]:
    """Attach the operation's description to its view; the route table does the rest."""

    def decorate(view: F) -> F:
        view.openapi = Operation(summary, body, responses or {200: None}, auth)  # type: ignore[attr-defined]
        return view

    return decorate


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def build_spec(app: Flask) -> dict[str, Any]:
    ops: list[tuple[str, str, Operation, list[str], str | None]] = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(DOCUMENTED_PREFIXES):
            continue
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "openapi", None)
        if op is None:
            continue
        permission = getattr(view, "required_permission", None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            ops.append((_path(rule.rule), method.lower(), op, list(rule.arguments), permission))

    models: set[type[BaseModel]] = {ProblemOut}
    for _, _, op, _, _ in ops:
        if op.body:
            models.add(op.body)
        models.update(m for m in op.responses.values() if m)
    keyed: list[tuple[type[BaseModel], Literal["validation"]]] = [
        (m, "validation") for m in sorted(models, key=lambda m: m.__name__)
    ]
    _, defs = models_json_schema(keyed, ref_template="#/components/schemas/{model}")

    def ref(model: type[BaseModel]) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    problem = {"application/problem+json": {"schema": ref(ProblemOut)}}
    paths: dict[str, dict[str, Any]] = {}
    for path, method, op, args, permission in sorted(ops, key=lambda o: (o[0], o[1])):
        responses: dict[str, Any] = {}
        for status, model in op.responses.items():
            entry: dict[str, Any] = {"description": "Success"}
            if model is not None:
                entry["content"] = {"application/json": {"schema": ref(model)}}
            responses[str(status)] = entry
        responses["4XX"] = {"description": "Problem (RFC 9457)", "content": problem}
        item: dict[str, Any] = {
            "summary": op.summary,
            "operationId": method + "_" + re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_"),
            "responses": responses,
        }
        if args:
            item["parameters"] = [
                {"name": a, "in": "path", "required": True, "schema": {"type": "string"}}
                for a in sorted(args)
            ]
        if op.body is not None:
            item["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.body)}},
            }
        item["security"] = [{"bearer": []}, {"apiKey": []}, {"cookie": []}] if op.auth else []
        if permission:
            item["x-required-permission"] = permission
        paths.setdefault(path, {})[method] = item

    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Limen API",
            "version": API_VERSION,
            "description": "Identity and access API. Errors are RFC 9457 problem documents.",
        },
        "servers": [{"url": app.extensions["limen.settings"].issuer}],
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT or API key"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "limen_at"},
            },
        },
    }
