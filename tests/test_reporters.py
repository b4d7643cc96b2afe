"""Every report format: text, JSON (against its schema), JUnit XML (parsed), markdown."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from migrate import cli
from migrate.commands.verify import verify_objects
from migrate.compare import Change, Difference, ObjectResult, Result, Status
from migrate.reporters import REPORTERS, get_reporter
from migrate.resources import data_dir

HELM = """
# Source: chart/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: same
  labels: {helm.sh/chart: c-1}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: c
        args: [--a, "x|y"]
        resources: {limits: {cpu: "1"}}
---
apiVersion: v1
kind: Service
metadata: {name: gone}
"""

KUSTOMIZE = """
apiVersion: v1
kind: ConfigMap
metadata: {name: same, namespace: ns}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  template:
    spec:
      containers:
      - name: c
        args: [--a, "x|y", --b]
        resources: {limits: {cpu: 1000m}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: stray}
"""


@pytest.fixture(scope="module")
def mixed() -> Result:
    """One equal, one different, one missing and one extra object."""
    return verify_objects(HELM, KUSTOMIZE, "ns")


@pytest.fixture(scope="module")
def same() -> Result:
    return verify_objects(HELM, HELM, "ns")


def test_formats_match_cli_choices() -> None:
    assert tuple(REPORTERS) == cli.FORMATS


def test_mixed_result(mixed: Result) -> None:
    assert mixed.counts() == {"equal": 1, "different": 1, "missing": 1, "extra": 1}


def test_json_valid_against_schema(mixed: Result, same: Result) -> None:
    schema = json.loads((data_dir("schemas") / "verify-report.schema.json").read_text())
    for result in (mixed, same):
        jsonschema.Draft202012Validator(schema).validate(json.loads(get_reporter("json").render(result)))


def test_json_content(mixed: Result) -> None:
    report = json.loads(get_reporter("json").render(mixed))
    assert report["equivalent"] is False
    assert report["summary"] == {"objects": 4, "equal": 1, "different": 1, "missing": 1, "extra": 1}
    web = next(obj for obj in report["objects"] if obj["id"] == "Deployment/web")
    assert web["differences"] == [
        {"path": "/spec/replicas", "named": "/spec/replicas", "change": "changed", "helm": 1, "kustomize": 2},
        {"path": "/spec/template/spec/containers/0/args/2", "named": "/spec/template/spec/containers[c]/args[--b]",
         "change": "only-in-kustomize", "kustomize": "--b"},
    ]


def test_junit_one_testcase_per_object(mixed: Result) -> None:
    root = ET.fromstring(get_reporter("junit").render(mixed))
    suite = root.find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert (root.get("tests"), root.get("failures"), suite.get("tests"), suite.get("failures")) == ("4", "3", "4", "3")
    assert set(cases) == {"ConfigMap/same", "Deployment/web", "Service/gone", "ConfigMap/stray"}
    assert cases["ConfigMap/same"].find("failure") is None
    failures = {name: case.find("failure") for name, case in cases.items() if name != "ConfigMap/same"}
    assert {name: f.get("type") for name, f in failures.items()} == {
        "Deployment/web": "different", "Service/gone": "missing", "ConfigMap/stray": "extra"}
    assert "/spec/replicas: helm 1, kustomize 2" in failures["Deployment/web"].text


def test_junit_equal_has_no_failures(same: Result) -> None:
    root = ET.fromstring(get_reporter("junit").render(same))
    assert root.get("failures") == "0" and not list(root.iter("failure"))


def test_markdown_summary_table_first(mixed: Result) -> None:
    lines = get_reporter("markdown").render(mixed).splitlines()
    assert lines[0] == "### helm-to-kustomize verify: ❌ not equivalent"
    assert lines[2:5] == ["| Status | Objects |", "|---|---:|", "| equal | 1 |"]
    assert "| `Deployment/web` | different | `/spec/replicas` | `1` | `2` |" in lines
    assert "| `Service/gone` | missing in kustomize | | | |" in lines


def test_markdown_cells_escape_pipes() -> None:
    diff = Difference("/data/a", Change.CHANGED, helm="x|y", kustomize="z")
    result = Result((ObjectResult("ConfigMap", "c", Status.DIFFERENT, (diff,)),))
    assert '| `"x\\|y"` |' in get_reporter("markdown").render(result)


def test_text_plain_and_coloured(mixed: Result) -> None:
    plain = get_reporter("text").render(mixed)
    assert "\033[" not in plain
    assert "different  Deployment/web" in plain
    assert "    /spec/replicas: helm 1, kustomize 2" in plain
    assert "    /spec/template/spec/containers[c]/args[--b]: only in kustomize: \"--b\"" in plain
    assert "missing    Service/gone  (rendered by Helm, not by Kustomize)" in plain
    assert "extra      ConfigMap/stray  (rendered by Kustomize, not by Helm)" in plain
    assert "\033[31m" in get_reporter("text", color=True).render(mixed)


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_report_file_gets_format_and_stdout_gets_text(cli, tmp_path: Path, fixtures_dir: Path, fmt: str) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [manifest.yaml]\n")
    manifest = fixtures_dir / "defaults" / "manifest.yaml"
    (overlay / "manifest.yaml").write_text(manifest.read_text().replace("replicas: 1", "replicas: 4", 1))
    report = tmp_path / f"report{REPORTERS[fmt].suffix}"
    result = cli("verify", overlay, "--manifest", manifest, "--namespace", "default", "--format", fmt,
                 "--report", report)
    assert result.exit_code == 1
    assert result.stdout.startswith("equal      ServiceAccount/ms-llm-d-modelservice\n")
    assert report.read_text() == get_reporter(fmt).render(verify_objects(
        manifest.read_text(), (overlay / "manifest.yaml").read_text(), "default"))


@pytest.mark.parametrize("fmt", sorted(REPORTERS))
def test_format_without_report_goes_to_stdout(cli, tmp_path: Path, fixtures_dir: Path, fmt: str) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [manifest.yaml]\n")
    manifest = fixtures_dir / "defaults" / "manifest.yaml"
    (overlay / "manifest.yaml").write_text(manifest.read_text())
    result = cli("verify", overlay, "--manifest", manifest, "--namespace", "default", "--format", fmt)
    assert result.exit_code == 0
    assert result.stdout == get_reporter(fmt).render(verify_objects(manifest.read_text(), manifest.read_text(),
                                                                     "default"))


def test_unwritable_report_is_input_error(cli, tmp_path: Path, fixtures_dir: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: [manifest.yaml]\n")
    manifest = fixtures_dir / "defaults" / "manifest.yaml"
    (overlay / "manifest.yaml").write_text(manifest.read_text())
    result = cli("verify", overlay, "--manifest", manifest, "--report", tmp_path / "no" / "dir" / "r.json")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
