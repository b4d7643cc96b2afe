"""Combined reports of a ``batch`` run: text, JSON, JUnit XML (one testcase per release), markdown.

These render a :class:`migrate.fleet.BatchResult`, not a single verification,
so they have their own registry, ``FORMATS``, with the same names as ``--format``.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrate import __version__
from migrate.errors import EXIT_DIFFERENT
from migrate.fleet import BatchResult, JobResult
from migrate.reporters import base
from migrate.reporters.base import show_sides
from migrate.reporters.json_report import as_dict

SCHEMA_VERSION = 1
MARKDOWN_LIMIT = 60_000  # GitHub comments and step summaries stop at 65536 characters
MAX_DIFFERENCES = 50  # per release, in markdown
_COLOURS = {"equivalent": "32", "migrated": "32", "not equivalent": "31"}


def render(batch: BatchResult, fmt: str, *, color: bool = False) -> str:
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}") from None
    return renderer(batch, color)


def write_reports(batch: BatchResult, fmt: str, report: Path | None, *, color: bool = False) -> None:
    """With ``report``, the chosen format goes to the file and text to stdout; else the format to stdout."""
    base.write_reports(lambda f, c: render(batch, f, color=c), fmt, report, color=color)


def summary_line(batch: BatchResult) -> str:
    """``58 releases in 41.2s on 2 workers: 57 equivalent, 1 bad input.``"""
    counts = ", ".join(f"{n} {word}" for word, n in batch.counts().items() if n)
    total = len(batch.results)
    return (f"{total} {batch.noun}{'s' if total != 1 else ''} in {batch.seconds:.1f}s on {batch.workers} "
            f"worker{'s' if batch.workers != 1 else ''}: {counts or 'nothing to do'}.")


def _detail(result: JobResult) -> str:
    if result.message:
        return result.message
    plan = result.migration or {}
    parts = []
    if plan:
        patches = len(plan.get("patches") or [])
        parts += [f"accelerator {plan.get('accelerator')}", f"{patches} patch{'es' if patches != 1 else ''}"]
    if result.verification is not None:
        parts.insert(0, f"{len(result.verification.objects)} objects")
    if plan.get("unmapped"):
        parts.append(f"{len(plan['unmapped'])} unmapped")
    return ", ".join(parts) or "-"


def _differences(result: JobResult) -> list[tuple[str, str, str, str, str]]:
    """(object, status, path, helm, kustomize) for every difference of a failed verification."""
    if result.verification is None:
        return []
    rows = []
    for obj in result.verification.not_equal():
        if not obj.differences:
            rows.append((obj.id, obj.status.label, "", "", ""))
        for diff in obj.differences:
            rows.append((obj.id, obj.status.label, diff.where, *show_sides(diff)))
    return rows


# --- text -------------------------------------------------------------------------------------


def text(batch: BatchResult, color: bool) -> str:
    header = ("NAME", "RELEASE", "NAMESPACE", "RESULT", "TIME", "DETAIL")
    rows = [(r.job.name, r.job.release, r.job.namespace or "-", r.result, f"{r.seconds:.1f}s", _detail(r))
            for r in batch.results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    lines = [_row(header, widths)]
    for row in rows:
        line = _row(row, widths)
        if color and row[3] != "migrated":
            start = sum(w + 2 for w in widths[:3])
            paint = _COLOURS.get(row[3], "31")
            line = f"{line[:start]}\033[{paint}m{row[3]}\033[0m{line[start + len(row[3]):]}"
        lines.append(line)
    for result in batch.results:
        differences = _differences(result)
        if differences:
            lines += ["", f"{result.job.name}: {result.message}"]
            lines += [f"  {obj} {path}: helm {helm}, kustomize {kustomize}" if path else f"  {obj}: {status}"
                      for obj, status, path, helm, kustomize in differences]
    lines += ["", summary_line(batch)]
    return "\n".join(lines) + "\n"


def _row(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join([*(cell.ljust(width) for cell, width in zip(cells, widths)), cells[-1]]).rstrip()


# --- JSON -------------------------------------------------------------------------------------


def as_json(batch: BatchResult) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "tool": f"helm-to-kustomize {__version__}",
        "command": batch.title,
        "exitCode": batch.exit_code,
        "summary": {"releases": len(batch.results), "seconds": round(batch.seconds, 3),
                    "workers": batch.workers, **batch.counts()},
        "releases": [_release(r) for r in batch.results],
    }


def _release(result: JobResult) -> dict[str, Any]:
    job = result.job
    return {
        "name": job.name,
        "release": job.release,
        "namespace": job.namespace,
        "values": str(job.values) if job.values is not None else None,
        "overlay": result.overlay,
        "result": result.result,
        "exitCode": result.exit_code,
        "message": result.message,
        "seconds": round(result.seconds, 3),
        "migration": result.migration,
        "verification": as_dict(result.verification) if result.verification is not None else None,
    }


def json_text(batch: BatchResult, color: bool) -> str:
    return json.dumps(as_json(batch), indent=2, default=str) + "\n"


# --- JUnit XML --------------------------------------------------------------------------------


def junit(batch: BatchResult, color: bool) -> str:
    failures = sum(1 for r in batch.results if r.exit_code == EXIT_DIFFERENT)
    errors = sum(1 for r in batch.results if r.exit_code > EXIT_DIFFERENT)
    counts = {"tests": str(len(batch.results)), "failures": str(failures), "errors": str(errors),
              "time": f"{batch.seconds:.3f}"}
    name = f"helm-to-kustomize {batch.title}"
    root = ET.Element("testsuites", name=name, **counts)
    suite = ET.SubElement(root, "testsuite", name=name, skipped="0", **counts)
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="workers", value=str(batch.workers))
    ET.SubElement(properties, "property", name="exitCode", value=str(batch.exit_code))
    for result in batch.results:
        _testcase(suite, result)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _testcase(suite: ET.Element, result: JobResult) -> None:
    job = result.job
    case = ET.SubElement(suite, "testcase", classname=job.namespace or "no-namespace", name=job.name,
                         time=f"{result.seconds:.3f}")
    if result.overlay:
        ET.SubElement(case, "system-out").text = f"release {job.release}, overlay {result.overlay}"
    if result.ok:
        return
    tag = "failure" if result.exit_code == EXIT_DIFFERENT else "error"
    element = ET.SubElement(case, tag, type=result.result.replace(" ", "-"), message=result.message)
    element.text = "\n".join(f"{obj} {path}: helm {helm}, kustomize {kustomize}" if path else f"{obj}: {status}"
                             for obj, status, path, helm, kustomize in _differences(result)) or result.message


# --- markdown ---------------------------------------------------------------------------------


def markdown(batch: BatchResult, color: bool) -> str:
    total = len(batch.results)
    good = total - len(batch.failed())
    mark = "✅" if good == total else "❌"
    lines = [f"### helm-to-kustomize {batch.title}: {mark} {good} of {total} {batch.noun}s OK", "",
             f"| Result | {batch.noun.capitalize()}s |", "|---|---:|"]
    lines += [f"| {word} | {n} |" for word, n in batch.counts().items() if n]
    lines += ["", f"_{summary_line(batch)}_", "",
              f"| {batch.noun.capitalize()} | Namespace | Result | Time | Detail |", "|---|---|---|---:|---|"]
    lines += [f"| `{_cell(r.job.name)}` | {_cell(r.job.namespace or '-')} | {_result_cell(r)} "
              f"| {r.seconds:.1f}s | {_cell(_detail(r))} |" for r in batch.results]
    body = "\n".join(lines) + "\n"
    for result in batch.failed():
        section = _markdown_differences(result)
        if len(body) + len(section) > MARKDOWN_LIMIT:
            body += "\n_More differences not shown; see the JSON report._\n"
            break
        body += section
    return body


def _result_cell(result: JobResult) -> str:
    return result.result if result.ok else f"**{result.result}**"


def _markdown_differences(result: JobResult) -> str:
    rows = _differences(result)
    if not rows:
        return ""
    lines = ["", f"<details><summary>{_cell(result.job.name)}: {_cell(result.message)}</summary>", "",
             "| Object | Status | Path | Helm | Kustomize |", "|---|---|---|---|---|"]
    lines += [f"| `{_cell(obj)}` | {status} | `{_cell(path)}` | `{_cell(helm)}` | `{_cell(kustomize)}` |"
              for obj, status, path, helm, kustomize in rows[:MAX_DIFFERENCES]]
    if len(rows) > MAX_DIFFERENCES:
        lines += ["", f"_{len(rows) - MAX_DIFFERENCES} more differences; see the JSON report._"]
    lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _cell(text: str, limit: int = 120) -> str:
    """Table-safe: no pipes, no newlines, no backticks, bounded length."""
    text = text.replace("|", "\\|").replace("\n", " ").replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


FORMATS: dict[str, Callable[[BatchResult, bool], str]] = {
    "text": text,
    "json": json_text,
    "junit": junit,
    "markdown": markdown,
}
