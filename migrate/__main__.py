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

    try:
        cli_main()
    except SystemExit as exc:
        _exit(exc)


def _exit(exc: SystemExit) -> None:
    """End the process as ``exc`` would, without tearing the interpreter down (freeing every
    object of a migration takes about as long as its last steps): the exit handlers run and the
    output is flushed, then the process exits. While a thread that the interpreter would wait
    for still runs, the exit is the ordinary one."""
    import atexit
    import os
    import threading

    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.main_thread()):
        raise exc
    code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: as the ordinary exit, 120
            code = code or 120
    os._exit(code or 0)


if __name__ == "__main__":
    main()
