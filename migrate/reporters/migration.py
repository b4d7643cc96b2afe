"""Reports of one migration in every ``--format``: what ``migrate --report FILE`` holds.

- ``text``: what the command prints (the ``wrote …`` line, the accounting of the values,
  warnings, the verdict, and the verification's differences when there are any);
- ``json``: the migration report (``schemas/migration-report.schema.json``), with the
  verification report (``schemas/verify-report.schema.json``) under ``verification`` when
  the overlay was verified against a Helm render;
- ``junit``: one testsuite: a testcase for the values (the accounting), one for the fit to
  the chart's objects, then, when verified, one per object as ``verify`` writes them;
- ``markdown``: the migration's summary and the accounting, then the verification report.

Without ``--format``, ``--report FILE`` holds the JSON migration report (as before
``--format`` applied to ``migrate``) and stdout the text.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate.errors import EXIT_OK
from migrate.reporters import base
from migrate.reporters import junit as junit_reporter
from migrate.reporters.json_report import as_dict
from migrate.reporters.markdown import MarkdownReporter, _cell

if TYPE_CHECKING:
    from migrate.commands.migrate import Outcome

SUITE = "helm-to-kustomize migrate"
DEFAULT_REPORT_FORMAT = "json"


def write_reports(outcome: Outcome, fmt: str | None, report: Path | None, *, color: bool = False) -> None:
    """With ``report``, the chosen format (default json) goes to the file and text to stdout;
    else the chosen format (default text) to stdout."""
    base.write_reports(lambda f, c: render(outcome, f, color=c), fmt or "text", report, color=color,
                       report_fmt=fmt or DEFAULT_REPORT_FORMAT)


def render(outcome: Outcome, fmt: str, *, color: bool = False) -> str:
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}") from None
    return renderer(outcome, color)


def text(outcome: Outcome, color: bool = False) -> str:
    from migrate.commands.migrate import text_report
    from migrate.reporters import get_reporter

    out = text_report(outcome, color=color)
    verification = outcome.verification
    if verification is not None and not verification.equivalent:
        out += get_reporter("text", color=color).render(verification)
    return out


def as_json(outcome: Outcome) -> dict[str, Any]:
    from migrate.commands.migrate import json_report

    report = json_report(outcome)
    if outcome.verification is not None:
        report["verification"] = as_dict(outcome.verification)
    return report


def json_text(outcome: Outcome, color: bool = False) -> str:
    return json.dumps(as_json(outcome), indent=2, default=str) + "\n"


def _accounting(report: dict[str, Any]) -> list[str]:
    """``12 mapped, 3 default, 1 unmapped`` and one line per value left out and per warning."""
    counts = Counter(value.get("status") for value in report.get("values") or [])
    lines = [", ".join(f"{n} {status}" for status, n in counts.items()) or "no values"]
    lines += [f"unmapped: {path}" for path in report.get("unmapped") or []]
    lines += [f"ignored by the chart: {item['path']}" + (f" (did you mean {item['didYouMean']}?)"
                                                          if item.get("didYouMean") else "")
              for item in report.get("ignored") or []]
    lines += [f"warning: {warning}" for warning in report.get("warnings") or []]
    return lines


def _verdict(outcome: Outcome) -> tuple[bool, str]:
    verified = outcome.verification is not None
    if outcome.exit_code != EXIT_OK:
        return False, "not equivalent" if verified else "not equivalent to the chart's objects"
    return True, "equivalent" if verified else "written (not verified against a Helm render)"


def junit(outcome: Outcome, color: bool = False) -> str:
    import xml.etree.ElementTree as ET  # here, as in the JUnit reporter: most runs write no JUnit

    report = as_json(outcome)
    verification = outcome.verification
    objects = list(verification.objects) if verification is not None else []
    failures = (1 if outcome.residual else 0) + sum(1 for obj in objects if obj.status.value != "equal")
    counts = {"tests": str(2 + len(objects)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", name=SUITE, **counts)
    suite = ET.SubElement(root, "testsuite", name=SUITE, skipped="0", **counts)
    properties = ET.SubElement(suite, "properties")
    for name in ("overlay", "release", "namespace", "chart", "chartVersion", "fittedTo", "checkedAgainstHelm",
                 "accelerator"):
        value = report.get(name)
        shown = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        ET.SubElement(properties, "property", name=name, value=shown)
    ET.SubElement(properties, "property", name="components", value=",".join(report.get("components") or []))
    values = ET.SubElement(suite, "testcase", classname="migrate", name="values")
    ET.SubElement(values, "system-out").text = "\n".join(_accounting(report))
    fitted = ET.SubElement(suite, "testcase", classname="migrate", name="fit to the chart's objects")
    if outcome.residual:
        failure = ET.SubElement(fitted, "failure", type="not-equivalent",
                                message="NOT EQUIVALENT to the chart's objects")
        failure.text = "\n".join(outcome.residual)
    for obj in objects:
        junit_reporter._testcase(suite, obj)
    if verification is not None and (verification.notes or verification.hints):
        ET.SubElement(suite, "system-out").text = "\n".join(
            [*(f"note: {note}" for note in verification.notes), *(f"hint: {hint}" for hint in verification.hints)])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def markdown(outcome: Outcome, color: bool = False) -> str:
    report = as_json(outcome)
    good, verdict = _verdict(outcome)
    lines = [f"### {SUITE}: {'✅' if good else '❌'} {verdict}", "",
             f"Overlay `{_cell(str(report.get('overlay')))}`: release `{_cell(str(report.get('release')))}`, "
             f"namespace `{_cell(str(report.get('namespace') or 'none set'))}`, {_cell(str(report.get('chart')))} "
             f"{_cell(str(report.get('chartVersion')))}, fitted to {_cell(str(report.get('fittedTo')), 300)}; "
             f"accelerator `{_cell(str(report.get('accelerator')))}`, components "
             f"{', '.join(f'`{_cell(c)}`' for c in report.get('components') or []) or 'none'}, "
             f"{len(report.get('patches') or [])} patches.", "",
             "| Values | Count |", "|---|---:|"]
    counts = Counter(value.get("status") for value in report.get("values") or [])
    lines += [f"| {_cell(str(status))} | {n} |" for status, n in counts.items()]
    notes = _accounting(report)[1:]
    if outcome.residual:
        notes.append("NOT EQUIVALENT to the chart's objects: " + ", ".join(outcome.residual))
    if notes:
        lines += [""] + [f"- {_cell(note, 400)}" for note in notes]
    body = "\n".join(lines) + "\n"
    if outcome.verification is not None:
        verification = MarkdownReporter().render(outcome.verification)
        body += "\n" + verification.replace("### helm-to-kustomize verify:", "#### verification:", 1)
    return body


FORMATS = {"text": text, "json": json_text, "junit": junit, "markdown": markdown}
