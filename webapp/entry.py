"""`limen-server`'s entry point: the operator's command line is in the ``server`` extra.

The default install is the CLI alone; this entry point then explains how to add the server
instead of failing with an ImportError traceback. (Importing the ``webapp`` package loads
nothing, so this module runs in a CLI-only install.)
"""

from __future__ import annotations

import importlib
import sys

SERVER_PACKAGE = "webapp"


def main() -> None:
    """Run `limen-server`, or say how to install it."""
    try:
        server_cli = importlib.import_module(f"{SERVER_PACKAGE}.cli")
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] == SERVER_PACKAGE:
            raise
        print(
            f"Error: limen-server needs the server's packages; this installation has only the "
            f"CLI (missing: {exc.name}).\n"
            "Install the server with: pip install 'limen[server]'  "
            "(and 'limen[devserver]' for `limen-server dev`).",
            file=sys.stderr,
        )
        sys.exit(1)
    server_cli.main()


if __name__ == "__main__":
    main()
