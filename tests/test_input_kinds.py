"""Reading input (issue 11, item 7): comment lines before the `helm get values` header are fine;
a manifest given as values, or values given as a manifest, is recognised and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conftest import FIXTURES, fixture_cases

CASES = {case["name"]: case for case in fixture_cases()}
CASE = "decode-replicas-3"  # release rep, namespace inference


def _one_line(result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("helm-to-kustomize: error: ") and result.stderr.count("\n") == 1
    return result.stderr


@pytest.mark.parametrize("header", ["USER-SUPPLIED VALUES:", "COMPUTED VALUES:"])
def test_comment_lines_before_the_header_are_fine(cli, tmp_path: Path, header: str) -> None:
    body = (FIXTURES / CASE / "values.yaml").read_text().replace("USER-SUPPLIED VALUES:\n", "")
    values = tmp_path / "values.yaml"
    values.write_text(f"# helm get values rep -n inference\n#   (saved for the migration)\n\n{header}\n{body}")
    result = cli(values, "-o", tmp_path / "rep", "--namespace", "inference",
                 "--verify-against", FIXTURES / CASE / "manifest.yaml")
    assert result.exit_code == 0, result.stderr
    assert "verify: equivalent" in result.stdout


def test_an_error_after_the_header_keeps_the_files_line_numbers(cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("# a comment\nUSER-SUPPLIED VALUES:\ndecode:\n\treplicas: 2\n")
    assert "line 4" in _one_line(cli(values, "-o", tmp_path / "out"))


@pytest.mark.parametrize("case", ["single-node-nvidia", "monitoring"])
def test_a_manifest_given_as_values_is_named(cli, tmp_path: Path, case: str) -> None:
    manifest = FIXTURES / case / "manifest.yaml"
    message = _one_line(cli(manifest, "-o", tmp_path / "out"))
    count = sum(1 for doc in yaml.safe_load_all(manifest.read_text()) if doc)
    assert f"{manifest}: this file looks like rendered objects ({count} Kubernetes objects" in message
    assert "not values" in message and "--verify-against" in message
    assert not (tmp_path / "out").exists()


def test_one_object_given_as_values_is_named(cli, tmp_path: Path) -> None:
    one = tmp_path / "object.yaml"
    one.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"},
                                   "data": {"a": "b"}}))
    assert "this file looks like rendered objects (1 Kubernetes object:" in _one_line(cli(one, "-o", tmp_path / "o"))


def test_a_kubectl_list_given_as_values_is_named(cli, tmp_path: Path) -> None:
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": []}))
    assert "looks like rendered objects" in _one_line(cli(listed, "-o", tmp_path / "o"))


def test_values_given_as_the_manifest_to_verify_against(cli, tmp_path: Path) -> None:
    values = FIXTURES / CASE / "values.yaml"
    message = _one_line(cli(values, "-o", tmp_path / "rep", "--verify-against", values))
    assert f"{values}: this file looks like Helm values (no document has a kind), not rendered objects" in message


def test_values_given_as_the_manifest_of_verify(cli, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources: []\n")
    values = FIXTURES / CASE / "values.yaml"
    message = _one_line(cli("verify", overlay, "--manifest", values))
    assert "this file looks like Helm values" in message


def test_a_manifest_given_as_values_of_verify_chart(cli, tmp_path: Path, data_dir: Path) -> None:
    manifest = FIXTURES / CASE / "manifest.yaml"
    message = _one_line(cli("verify", data_dir / "tiny-overlay", "--chart", data_dir / "tiny-chart",
                            "--values", manifest))
    assert f"{manifest}: this file looks like rendered objects" in message


def test_values_with_a_kind_key_are_still_values(cli, tmp_path: Path) -> None:
    """Only apiVersion, kind and metadata together make an object: a stray `kind:` is just a key."""
    values = tmp_path / "values.yaml"
    values.write_text("kind: x\n")
    message = _one_line(cli(values, "-o", tmp_path / "o"))
    assert "looks like rendered objects" not in message
