"""The reporter base class and the name -> class registry behind ``--format``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from migrate.compare import Change, Difference, Result, Status
from migrate.errors import InputError

REPORTERS: dict[str, type[Reporter]] = {}


class Reporter:
    """Turns a :class:`Result` into text. Subclasses set ``name`` and implement ``render``."""

    name: ClassVar[str]
    suffix: ClassVar[str] = ".txt"

    def __init__(self, *, color: bool = False) -> None:
        self.color = color

    def render(self, result: Result) -> str:
        raise NotImplementedError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        REPORTERS[cls.name] = cls


def get_reporter(name: str, *, color: bool = False) -> Reporter:
    try:
        return REPORTERS[name](color=color)
    except KeyError:
        raise ValueError(f"unknown report format {name!r}; known: {', '.join(REPORTERS)}") from None


def show_value(value: Any) -> str:
    """A value on one line, as JSON, so that ``"1"`` and ``1`` look different."""
    return json.dumps(value, sort_keys=True, default=str)


def show_sides(diff: Difference) -> tuple[str, str]:
    """Both sides of a difference, ``(absent)`` where a side has nothing; for ``reordered``,
    the item names in each side's order."""
    if diff.change is Change.REORDERED:
        return show_order(diff.helm), show_order(diff.kustomize)
    helm = "(absent)" if diff.change is Change.ONLY_KUSTOMIZE else show_value(diff.helm)
    kustomize = "(absent)" if diff.change is Change.ONLY_HELM else show_value(diff.kustomize)
    return helm, kustomize


def show_order(names: Any) -> str:
    """``[HF_HOME, DP_SIZE]``: item names, unquoted."""
    return "[" + ", ".join(str(name) for name in names) + "]" if isinstance(names, list) else show_value(names)


def describe(diff: Difference) -> str:
    """What differs, after the path: ``helm 3, kustomize 1``, ``only in helm: {...}``,
    ``order differs: helm [A, B], kustomize [B, A]``."""
    helm, kustomize = show_sides(diff)
    if diff.change is Change.ONLY_HELM:
        return f"only in helm: {helm}"
    if diff.change is Change.ONLY_KUSTOMIZE:
        return f"only in kustomize: {kustomize}"
    if diff.change is Change.REORDERED:
        return f"order differs: helm {helm}, kustomize {kustomize}"
    return f"helm {helm}, kustomize {kustomize}"


def difference_line(diff: Difference) -> str:
    """``/spec/template/spec/containers[vllm]/env[NEW_VAR]: only in helm: {...}``"""
    return f"{diff.where}: {describe(diff)}"


def summary_line(result: Result) -> str:
    """``Not equivalent: 4 objects (1 equal, 1 different, 1 missing in kustomize, 1 extra in kustomize).``"""
    verdict = "Equivalent" if result.equivalent else "Not equivalent"
    parts = ", ".join(f"{result.count(status)} {status.label}" for status in Status)
    return f"{verdict}: {len(result.objects)} objects ({parts})."


def write_reports(render: Callable[[str, bool], str], fmt: str, report: Path | None, *, color: bool = False,
                  report_fmt: str | None = None) -> None:
    """Deliver a command's report: with ``report``, ``render(report_fmt or fmt)`` goes to that file
    (``report written to FILE`` on stderr) and the text to stdout; else ``fmt`` to stdout.
    ``render(fmt, color)`` makes the text of one format; only text is coloured."""
    if report is not None:
        try:
            Path(report).write_text(render(report_fmt or fmt, False), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write the report: {exc.strerror}", file=str(report)) from None
        print(f"report written to {report}", file=sys.stderr)
        fmt = "text"
    print(render(fmt, color and fmt == "text"), end="")
