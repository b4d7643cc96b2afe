"""Patches that edit a list item by index name it first, so that a changed library fails loudly."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from conftest import FIXTURES
from migrate import guards, tools

POD = {"spec": {"template": {"spec": {"containers": [{
    "name": "vllm",
    "args": ["model", "--port", "8000"],
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
}]}}}}
C = "/spec/template/spec/containers/0"


def test_an_edit_of_a_named_item_tests_its_name_first():
    ops = guards.guarded([{"op": "replace", "path": f"{C}/env/1/value", "value": "3"}], POD)
    assert ops == [{"op": "test", "path": f"{C}/name", "value": "vllm"},
                   {"op": "test", "path": f"{C}/env/1/name", "value": "B"},
                   {"op": "replace", "path": f"{C}/env/1/value", "value": "3"}]


def test_an_argument_is_tested_at_its_position_before_it_is_replaced_or_removed():
    ops = guards.guarded([{"op": "replace", "path": f"{C}/args/2", "value": "8200"},
                          {"op": "remove", "path": f"{C}/args/0"}], POD)
    assert [o for o in ops if o["op"] == "test" and "/args/" in o["path"]] == [
        {"op": "test", "path": f"{C}/args/2", "value": "8000"},
        {"op": "test", "path": f"{C}/args/0", "value": "model"}]


def test_an_insert_tests_nothing_at_its_own_position_and_tests_follow_the_shift():
    ops = guards.guarded([{"op": "add", "path": f"{C}/env/0", "value": {"name": "Z", "value": "0"}},
                          {"op": "remove", "path": f"{C}/env/2"}], POD)
    assert {"op": "test", "path": f"{C}/env/0/name", "value": "A"} not in ops
    assert ops.index({"op": "test", "path": f"{C}/env/2/name", "value": "B"}) == \
        ops.index({"op": "remove", "path": f"{C}/env/2"}) - 1  # B moved to 2 by the insert


def test_an_item_is_named_once_until_its_list_changes():
    ops = guards.guarded([{"op": "replace", "path": f"{C}/env/0/value", "value": "x"},
                          {"op": "replace", "path": f"{C}/env/0/value", "value": "y"}], POD)
    assert [o["path"] for o in ops if o["op"] == "test"] == [f"{C}/name", f"{C}/env/0/name"]


def test_an_argument_a_literal_may_have_written_is_not_tested():
    ops = guards.guarded([{"op": "replace", "path": f"{C}/args/0", "value": "other"}], POD, unsure=frozenset({"model"}))
    assert not [o for o in ops if o["op"] == "test" and o["path"].endswith("/args/0")]


def test_a_library_that_reorders_a_list_makes_the_build_fail(cli, tmp_path, kustomize_bin):
    """The overlay's env edits reach the vLLM container's variables by index. Swap two of them
    in the overlay's copy of the library: Kustomize must refuse, not edit the wrong variable."""
    case = FIXTURES / "tensor-parallel-4"
    out = tmp_path / "tp4"
    result = cli(case / "values.yaml", "-o", out, "--namespace", "default", "--verify-against", case / "manifest.yaml")
    assert result.exit_code == 0, result.stderr
    edits = [op for f in (out / "patches").glob("*.yaml") for op in yaml.safe_load(f.read_text()) or []
             if isinstance(op, dict) and "/env/" in str(op.get("path")) and op.get("op") != "test"]
    assert edits, "the case edits env by index"
    base = out / "library" / "base" / "resources" / "decode-deployment.yaml"
    deployment = yaml.safe_load(base.read_text())
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    env[0], env[1] = env[1], env[0]
    base.write_text(yaml.safe_dump(deployment))
    with pytest.raises(tools.ToolError) as failure:
        tools.kustomize_build(out, kustomize_bin)
    assert "test failed" in str(failure.value) or "testing value" in str(failure.value)
