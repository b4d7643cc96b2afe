"""`migrate --format` decides what `--report FILE` holds, as for verify and batch (issue 11, item 3).

Without --format the report is the JSON migration report (schemas/migration-report.schema.json);
json adds the verification (schemas/verify-report.schema.json) when there is one; junit and
markdown hold the accounting and the verification; text is what the command prints.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from conftest import FIXTURES, ROOT

CASE = FIXTURES / "single-node-nvidia"  # release single, namespace llm-d
ARGS = ("--release", "single", "--namespace", "llm-d")


def _validator() -> jsonschema.Draft202012Validator:
    schemas = {name: json.loads((ROOT / "schemas" / name).read_text())
               for name in ("migration-report.schema.json", "verify-report.schema.json")}
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return jsonschema.Draft202012Validator(schemas["migration-report.schema.json"], registry=registry)


def run(cli, tmp_path: Path, *args: str, verify: bool = True):
    extra = ("--verify-against", CASE / "manifest.yaml") if verify else ()
    return cli(CASE / "values.yaml", "-o", tmp_path / "single", *ARGS, *extra, *args)


def test_report_without_format_is_the_json_migration_report(cli, tmp_path: Path) -> None:
    report = tmp_path / "report"
    result = run(cli, tmp_path, "--report", report, verify=False)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("wrote ")
    data = json.loads(report.read_text())
    _validator().validate(data)
    assert "verification" not in data and data["checkedAgainstHelm"] is False
    assert f"report written to {report}" in result.stderr


def test_json_holds_the_verification_when_verified(cli, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run(cli, tmp_path, "--format", "json", "--report", report)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("wrote ")  # text still goes to stdout
    data = json.loads(report.read_text())
    _validator().validate(data)
    assert data["verification"]["equivalent"] is True
    assert data["verification"]["summary"]["objects"] == 2


def test_junit_holds_the_accounting_and_one_testcase_per_object(cli, tmp_path: Path) -> None:
    report = tmp_path / "report.xml"
    result = run(cli, tmp_path, "--format", "junit", "--report", report)
    assert result.exit_code == 0, result.stderr
    root = ET.fromstring(report.read_text())
    suite = root.find("testsuite")
    cases = [case.get("name") for case in suite.iter("testcase")]
    assert cases == ["values", "fit to the chart's objects", "ServiceAccount/single-llm-d-modelservice",
                     "Deployment/single-llm-d-modelservice-decode"]
    assert (root.get("tests"), root.get("failures")) == ("4", "0")
    properties = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert properties["release"] == "single" and properties["checkedAgainstHelm"] == "true"
    values = next(case for case in suite.iter("testcase") if case.get("name") == "values")
    assert "mapped" in values.find("system-out").text


def test_markdown_holds_the_accounting_then_the_verification(cli, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    result = run(cli, tmp_path, "--format", "markdown", "--report", report)
    assert result.exit_code == 0, result.stderr
    lines = report.read_text().splitlines()
    assert lines[0] == "### helm-to-kustomize migrate: ✅ equivalent"
    assert "| Values | Count |" in lines
    assert lines.index("#### verification: ✅ equivalent") > lines.index("| Values | Count |")


def test_markdown_without_a_render_says_not_verified(cli, tmp_path: Path) -> None:
    report = tmp_path / "report.md"
    assert run(cli, tmp_path, "--format", "markdown", "--report", report, verify=False).exit_code == 0
    text = report.read_text()
    assert text.startswith("### helm-to-kustomize migrate: ✅ written (not verified against a Helm render)")
    assert "#### verification" not in text


def test_text_report_is_what_the_command_prints(cli, tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    result = run(cli, tmp_path, "--format", "text", "--report", report)
    assert result.exit_code == 0, result.stderr
    assert report.read_text() == result.stdout


@pytest.mark.parametrize("fmt", ["json", "junit", "markdown"])
def test_format_without_report_goes_to_stdout(cli, tmp_path: Path, fmt: str) -> None:
    result = run(cli, tmp_path, "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert not result.stdout.startswith("wrote ")
    if fmt == "json":
        _validator().validate(json.loads(result.stdout))
    elif fmt == "junit":
        ET.fromstring(result.stdout)
    else:
        assert result.stdout.startswith("### helm-to-kustomize migrate:")


def test_help_and_readme_say_what_the_report_holds(cli) -> None:
    text = " ".join(cli("migrate", "--help").stdout.split())
    assert "json for --report" in text and "junit or markdown" in text
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "`migrate --format`" in readme or "--format text|json|junit|markdown` decides what `--report FILE`" \
        in readme
