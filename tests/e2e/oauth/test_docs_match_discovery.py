"""docs/oauth.md lists what discovery publishes, generated from it: this test renders the
table from a live node's discovery document and fails (printing the table to paste) when the
docs drifted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parents[3] / "docs" / "oauth.md"
BEGIN, END = "<!-- discovery:begin -->", "<!-- discovery:end -->"


def render(metadata: dict[str, Any]) -> str:
    """The discovery table as docs/oauth.md shows it: endpoints as paths under the issuer."""
    issuer = metadata["issuer"]
    rows = ["| field | value |", "| --- | --- |"]
    for key in sorted(metadata):
        value = metadata[key]
        if key == "issuer":
            shown = "`LIMEN_ISSUER`"
        elif isinstance(value, str) and value.startswith(issuer + "/"):
            shown = f"`{value[len(issuer) :]}`"
        elif isinstance(value, list):
            shown = " ".join(f"`{item}`" for item in value)
        else:
            shown = f"`{json.dumps(value)}`"
        rows.append(f"| `{key}` | {shown} |")
    return "\n".join(rows)


def test_docs_list_exactly_what_discovery_publishes(metadata):
    text = DOC.read_text()
    documented = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    expected = render(metadata)
    assert documented == expected, f"docs/oauth.md drifted; paste this table:\n{expected}"
