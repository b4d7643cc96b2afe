"""The ``helm-to-kustomize`` command (also ``python -m migrate``).

``--version`` alone is answered before click and the commands are imported, so
that scripts probing the version pay only for the interpreter.
"""

from __future__ import annotations

import sys

from migrate import PROG, __version__


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        print(f"{PROG} {__version__}")
        return
    from migrate.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
