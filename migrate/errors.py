"""The error types that reach the user, each tied to one exit code."""

from __future__ import annotations

EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_TOOL = 3


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
