"""The error types that reach the user, each tied to one exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_TOOL = 3
EXIT_BUG = 4  # an unexpected error: a bug in helm-to-kustomize
EXIT_SIGNAL_BASE = 128  # a run stopped by signal N exits 128 + N, as a shell reports it
EXIT_INTERRUPTED = EXIT_SIGNAL_BASE + 2  # 130: Ctrl-C (SIGINT)


def exit_for_signal(signum: int) -> int:
    """The exit code of a run a signal stopped (130 for SIGINT, 143 for SIGTERM)."""
    return EXIT_SIGNAL_BASE + int(signum)


class MigrateError(Exception):
    """An error the user can act on: printed as one line, never with a traceback."""

    exit_code = EXIT_USAGE


class InputError(MigrateError):
    """Bad input: a values file, an overlay, a manifest or an option (exit 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ""
        if file and key:
            where = f"{file}: {key}: "
        elif file:
            where = f"{file}: "
        elif key:
            where = f"{key}: "
        super().__init__(where + message)


class ChartRefusal(InputError):
    """Values the chart itself refuses to render; the message says what Helm would say."""


class ToolError(MigrateError):
    """A required external tool (kustomize, kubectl, helm) is missing, too old or failed (exit 3)."""

    exit_code = EXIT_TOOL
