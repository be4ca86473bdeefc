"""`limen providers`: the installed login providers, built-in and from plugins."""

from __future__ import annotations

import click

from ..options import json_option, runtime
from ..output import print_json, print_table


@click.command()
@json_option
def providers(as_json: bool) -> None:
    """List login providers (built-in and plugins)."""
    found = runtime().providers
    rows = [
        {
            "name": name,
            "help": info.provider.help,
            "needs_browser": bool(info.provider.needs_browser),
            "needs_tty": bool(info.provider.needs_tty),
            "needs_person": bool(getattr(info.provider, "needs_person", False)),
            "source": info.source,
        }
        for name, info in sorted(found.items())
    ]
    if as_json:
        print_json({"providers": rows})
        return
    print_table(
        ["name", "source", "needs", "description"],
        [
            [
                r["name"],
                r["source"],
                ", ".join(
                    n
                    for n, on in (
                        ("browser", r["needs_browser"]),
                        ("tty", r["needs_tty"]),
                        ("approval", r["needs_person"]),
                    )
                    if on
                ),
                r["help"],
            ]
            for r in rows
        ],
    )
