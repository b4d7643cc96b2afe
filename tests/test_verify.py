"""`verify` through real Kustomize (and Helm for --chart): verdicts, paths, exit codes."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import FIXTURES, fixture_cases
from migrate import __version__
from migrate.commands.verify import verify_objects
from migrate.compare import Status

CASES = {case["name"]: case for case in fixture_cases()}
MUTATED = "single-node-nvidia"  # release "single", namespace "llm-d"
DECODE = "Deployment/single-llm-d-modelservice-decode"
VLLM = "/spec/template/spec/containers/0"

Mutation = Callable[[list[dict[str, Any]]], None]


def make_overlay(tmp_path: Path, case: str, mutate: Mutation | None = None, namespace: str | None = None) -> Path:
    """An overlay whose only resource is (a mutated copy of) the fixture's own manifest."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    source = FIXTURES / case / "manifest.yaml"
    if mutate is None:
        shutil.copy(source, overlay / "manifest.yaml")
    else:
        docs = [doc for doc in yaml.safe_load_all(source.read_text()) if doc]
        mutate(docs)
        (overlay / "manifest.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))
    kustomization = {"resources": ["manifest.yaml"]} | ({"namespace": namespace} if namespace else {})
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return overlay


def find(docs: list[dict[str, Any]], object_id: str) -> dict[str, Any]:
    kind, name = object_id.split("/", 1)
    return next(doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name)


def vllm(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return find(docs, DECODE)["spec"]["template"]["spec"]["containers"][0]


def verify_json(cli: Callable, overlay: Path, *extra: str, case: str = MUTATED) -> tuple[int, dict[str, Any]]:
    manifest = FIXTURES / case / "manifest.yaml"
    result = cli("verify", overlay, "--manifest", manifest, "--namespace", CASES[case]["namespace"],
                 "--format", "json", *extra)
    assert result.stderr == ""
    return result.exit_code, json.loads(result.stdout)


def differences(report: dict[str, Any]) -> dict[str, list[tuple[str, Any, Any]]]:
    """Object id -> [(path, helm, kustomize)] for every object that is not equal."""
    return {
        obj["id"]: [(d["path"], d.get("helm"), d.get("kustomize")) for d in obj["differences"]]
        for obj in report["objects"]
        if obj["status"] != "equal"
    }


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {obj["id"]: obj["status"] for obj in report["objects"] if obj["status"] != "equal"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fixture_overlay_is_equivalent(cli, tmp_path: Path, case: str) -> None:
    overlay = make_overlay(tmp_path, case)
    result = cli("verify", overlay, "--manifest", FIXTURES / case / "manifest.yaml",
                 "--namespace", CASES[case]["namespace"])
    assert (result.exit_code, result.stderr) == (0, "")
    assert "Equivalent:" in result.stdout


def test_namespaced_overlay_matches_release_namespace(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED, namespace="llm-d")
    assert verify_json(cli, overlay)[0] == 0
    code, report = verify_json(cli, overlay, "--no-release-namespace")
    assert code == 1
    assert differences(report)[DECODE] == [("/metadata/namespace", None, "llm-d")]


def test_wrong_release_namespace_differs(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED, namespace="elsewhere")
    code, report = verify_json(cli, overlay)
    assert code == 1
    assert differences(report)[DECODE] == [("/metadata/namespace", "llm-d", "elsewhere")]


def _set_env(docs):
    vllm(docs)["env"][3]["value"] = "/elsewhere"


def _swap_args(docs):
    args = vllm(docs)["args"]
    args[0], args[1] = args[1], args[0]


def _extra_object(docs):
    docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stray"}, "data": {"a": "b"}})


def _drop_service_account(docs):
    docs.remove(find(docs, "ServiceAccount/single-llm-d-modelservice"))


def _scale(docs):
    find(docs, DECODE)["spec"]["replicas"] = 3


# mutation of the Kustomize side -> exit code, {object: status}, {object: [(path, helm, kustomize)]}
DIFFERENT_CASES = {
    "changed env value": (_set_env, {DECODE: "different"},
                          {DECODE: [(f"{VLLM}/env/3/value", "/model-cache", "/elsewhere")]}),
    "reordered args": (_swap_args, {DECODE: "different"},
                       {DECODE: [(f"{VLLM}/args/0", "facebook/opt-125m", None),
                                 (f"{VLLM}/args/1", ["--port", "8200"], ["--port", "facebook/opt-125m", "8200"])]}),
    "extra object": (_extra_object, {"ConfigMap/stray": "extra"}, {"ConfigMap/stray": []}),
    "missing object": (_drop_service_account, {"ServiceAccount/single-llm-d-modelservice": "missing"},
                       {"ServiceAccount/single-llm-d-modelservice": []}),
    "changed replicas": (_scale, {DECODE: "different"}, {DECODE: [("/spec/replicas", 1, 3)]}),
}


@pytest.mark.parametrize("name", DIFFERENT_CASES)
def test_mutation_is_reported(cli, tmp_path: Path, name: str) -> None:
    mutate, expected_statuses, expected_differences = DIFFERENT_CASES[name]
    code, report = verify_json(cli, make_overlay(tmp_path, MUTATED, mutate))
    assert code == 1
    assert report["equivalent"] is False
    assert statuses(report) == expected_statuses
    assert differences(report) == expected_differences


def test_reordered_args_equal_without_ordered_lists(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED, _swap_args)
    assert verify_json(cli, overlay, "--no-ordered-lists")[0] == 0


def _drop_provenance_label(docs):
    del find(docs, DECODE)["metadata"]["labels"]["helm.sh/chart"]


def _null_node_selector(docs):
    find(docs, DECODE)["spec"]["template"]["spec"]["nodeSelector"] = None


def _milli_gpu(docs):
    vllm(docs)["resources"]["limits"]["nvidia.com/gpu"] = "1000m"


# mutation that a rule absorbs -> (switch that turns the rule off, differences then expected on DECODE)
NORMALISED_CASES = {
    "dropped provenance label": (_drop_provenance_label, "--no-provenance-labels",
                                 [("/metadata/labels/helm.sh~1chart", "llm-d-modelservice-v0.4.12", None)]),
    "null vs absent": (_null_node_selector, "--no-empty-values",
                       [("/spec/template/spec/nodeSelector", None, None)]),
    "quantity 1 vs 1000m": (_milli_gpu, "--no-quantities",
                            [(f"{VLLM}/resources/limits/nvidia.com~1gpu", "1", "1000m")]),
}


@pytest.mark.parametrize("name", NORMALISED_CASES)
def test_rule_absorbs_mutation_and_its_switch_reveals_it(cli, tmp_path: Path, name: str) -> None:
    mutate, switch, expected = NORMALISED_CASES[name]
    overlay = make_overlay(tmp_path, MUTATED, mutate)
    assert verify_json(cli, overlay)[0] == 0
    code, report = verify_json(cli, overlay, switch)
    assert code == 1
    assert differences(report) == {DECODE: expected}


def test_text_report_names_object_path_and_both_values(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED, _set_env)
    result = cli("verify", overlay, "--manifest", FIXTURES / MUTATED / "manifest.yaml", "--namespace", "llm-d")
    assert result.exit_code == 1
    assert '/spec/template/spec/containers[vllm]/env[HF_HOME]/value: helm "/model-cache", kustomize "/elsewhere"' \
        in result.stdout
    assert f"different  {DECODE}" in result.stdout
    assert result.stdout.rstrip().endswith("(1 equal, 1 different, 0 missing in kustomize, 0 extra in kustomize).")


def test_verify_objects_api(fixtures_dir: Path) -> None:
    text = (fixtures_dir / MUTATED / "manifest.yaml").read_text()
    changed = text.replace("replicas: 1", "replicas: 2", 1)
    result = verify_objects(text, changed, "llm-d")
    assert not result.equivalent
    assert [(o.id, o.status) for o in result.not_equal()] == [(DECODE, Status.DIFFERENT)]
    assert verify_objects(text, text, "llm-d", rules=[]).equivalent


# --chart: the tiny chart under tests/data rendered by real Helm


def test_chart_matches_handwritten_overlay(cli, data_dir: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--chart", data_dir / "tiny-chart",
                 "--release", "demo", "--namespace", "shop")
    assert (result.exit_code, result.stderr) == (0, "")


def test_chart_release_defaults_to_overlay_basename(cli, data_dir: Path, tmp_path: Path) -> None:
    overlay = shutil.copytree(data_dir / "tiny-overlay", tmp_path / "demo")
    result = cli("verify", overlay, "--chart", data_dir / "tiny-chart", "--namespace", "shop")
    assert result.exit_code == 0


def test_chart_with_values_reports_difference(cli, data_dir: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--chart", data_dir / "tiny-chart",
                 "--values", data_dir / "bye-values.yaml", "--release", "demo", "--namespace", "shop",
                 "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert differences(report) == {"ConfigMap/demo-tiny": [("/data/greeting", "bye", "hello")]}


def test_chart_not_found_is_input_error(cli, data_dir: Path, tmp_path: Path) -> None:
    result = cli("verify", data_dir / "tiny-overlay", "--chart", tmp_path / "no-chart")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("helm-to-kustomize: error: ")
    assert "chart not found" in result.stderr


# bad input: exit 2, one line


def _one_line_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("helm-to-kustomize: error: ")
    assert result.stderr.count("\n") == 1
    for needle in needles:
        assert needle in result.stderr


def test_missing_overlay(cli, tmp_path: Path) -> None:
    manifest = FIXTURES / MUTATED / "manifest.yaml"
    _one_line_error(cli("verify", tmp_path / "nowhere", "--manifest", manifest), 2, "nowhere")


def test_overlay_without_kustomization(cli, tmp_path: Path) -> None:
    manifest = FIXTURES / MUTATED / "manifest.yaml"
    _one_line_error(cli("verify", tmp_path, "--manifest", manifest), 2, "kustomization.yaml")


def test_unreadable_manifest(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED)
    _one_line_error(cli("verify", overlay, "--manifest", tmp_path / "absent.yaml"), 2, "absent.yaml")


def test_manifest_with_duplicate_key(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED)
    bad = tmp_path / "dup.yaml"
    bad.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n")
    _one_line_error(cli("verify", overlay, "--manifest", bad), 2, "dup.yaml", "duplicate key 'name'")


def test_manifest_with_invalid_yaml(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED)
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: [unclosed\n")
    _one_line_error(cli("verify", overlay, "--manifest", bad), 2, "bad.yaml")


@pytest.mark.parametrize("sources", [[], ["--manifest", "m.yaml", "--chart", "c"]])
def test_exactly_one_helm_source(cli, tmp_path: Path, sources: list[str]) -> None:
    overlay = make_overlay(tmp_path, MUTATED)
    _one_line_error(cli("verify", overlay, *sources), 2, "--manifest", "--chart")


def test_values_without_chart(cli, tmp_path: Path) -> None:
    overlay = make_overlay(tmp_path, MUTATED)
    manifest = FIXTURES / MUTATED / "manifest.yaml"
    _one_line_error(cli("verify", overlay, "--manifest", manifest, "--values", manifest), 2, "--values needs --chart")


def test_unknown_option_is_usage_error(cli, tmp_path: Path) -> None:
    _one_line_error(cli("verify", tmp_path, "--no-such-rule"), 2, "--no-such-rule")


def test_version(cli) -> None:
    result = cli("--version")
    assert (result.exit_code, result.stdout) == (0, f"helm-to-kustomize {__version__}\n")


# --- the object differ ------------------------------------------------------------------------


@pytest.mark.parametrize("helm, kustomize, expected", [
    ({"a": 1}, {"a": 1}, []),
    ({"a": 1}, {"a": 1.0}, [("/a", "changed", 1, 1.0)]),
    ({"a": 1}, {"a": True}, [("/a", "changed", 1, True)]),
    ({"a": "1"}, {"a": 1}, [("/a", "changed", "1", 1)]),
    ({"a": None}, {"a": {}}, [("/a", "changed", None, {})]),
    ({"a": {"b/c": 1, "d": 2}}, {"a": {"d": 2, "e~": 3}},
     [("/a/b~1c", "only-in-helm", 1, None), ("/a/e~0", "only-in-kustomize", None, 3)]),
    ({"l": [1, 2, 3]}, {"l": [1, 5]}, [("/l/1", "changed", 2, 5), ("/l/2", "only-in-helm", 3, None)]),
    ({"l": [{"n": "x"}]}, {"l": [{"n": "y"}, "z"]},
     [("/l/0/n", "changed", "x", "y"), ("/l/1", "only-in-kustomize", None, "z")]),
    ({"l": []}, {"l": {}}, [("/l", "changed", [], {})]),
])
def test_differ_reports_each_leaf_with_its_pointer(helm, kustomize, expected):
    from migrate.compare import diff_objects

    found = [(d.path, d.change.value, d.helm, d.kustomize) for d in diff_objects(helm, kustomize)]
    assert found == expected
    assert all(type(a[2]) is type(b[2]) and type(a[3]) is type(b[3]) for a, b in zip(found, expected))


def test_differ_sorts_list_indexes_numerically():
    from migrate.compare import diff_objects

    paths = [d.path for d in diff_objects({"l": list(range(12))}, {"l": [-1] * 12})]
    assert paths == [f"/l/{i}" for i in range(12)]
