"""verify names list items (issue 11, item 5): env, containers, ports, volumes and volumeMounts
by name, args and command by flag, one line when only the order differs; the JSON report keeps
the JSON pointer beside the named path. Equivalence itself is unchanged: list order matters.

Through the CLI on the real render of a fixture: the overlay's only resource is the render
itself (or a changed copy), the manifest is the render (or a changed copy).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, ROOT
from migrate.compare import diff_objects, same

CASE = "single-node-nvidia"  # release single, namespace llm-d
DECODE = "Deployment/single-llm-d-modelservice-decode"
POD = "/spec/template/spec"
VLLM = f"{POD}/containers[vllm]"
SCHEMA = json.loads((ROOT / "schemas" / "verify-report.schema.json").read_text())

Docs = list[dict[str, Any]]


def _docs() -> Docs:
    return [d for d in yaml.safe_load_all((FIXTURES / CASE / "manifest.yaml").read_text()) if d]


def _decode(docs: Docs) -> dict:
    return next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-decode"))


def _vllm(docs: Docs) -> dict:
    return _decode(docs)["spec"]["template"]["spec"]["containers"][0]


def _write(path: Path, docs: Docs) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def setup(tmp_path: Path, helm: Callable[[Docs], None] | None = None,
          kustomize: Callable[[Docs], None] | None = None) -> tuple[Path, Path]:
    """(overlay, manifest): each side the render, changed by its mutation."""
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    docs = _docs()
    if kustomize:
        kustomize(docs)
    _write(overlay / "objects.yaml", docs)
    (overlay / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    docs = _docs()
    if helm:
        helm(docs)
    return overlay, _write(tmp_path / "manifest.yaml", docs)


def verify(cli, overlay: Path, manifest: Path, *extra: str) -> tuple[int, str, dict]:
    text = cli("verify", overlay, "--manifest", manifest, "--namespace", "llm-d", *extra)
    report = cli("verify", overlay, "--manifest", manifest, "--namespace", "llm-d", "--format", "json", *extra)
    assert text.exit_code == report.exit_code and text.stderr == report.stderr == ""
    data = json.loads(report.stdout)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    return text.exit_code, text.stdout, data


def decode_differences(report: dict) -> list[dict]:
    return next(o for o in report["objects"] if o["id"] == DECODE)["differences"]


def detail_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.startswith("    ")]


def _insert_env_front(docs: Docs) -> None:
    _vllm(docs)["env"].insert(0, {"name": "NEW_VAR", "value": "1"})


def test_an_env_var_only_helm_has_is_one_line_naming_it(cli, tmp_path: Path) -> None:
    code, text, report = verify(cli, *setup(tmp_path, helm=_insert_env_front))
    assert code == 1
    assert detail_lines(text) == [f'{VLLM}/env[NEW_VAR]: only in helm: {{"name": "NEW_VAR", "value": "1"}}']
    [diff] = decode_differences(report)
    assert diff == {"path": "/spec/template/spec/containers/0/env/0", "named": f"{VLLM}/env[NEW_VAR]",
                    "change": "only-in-helm", "helm": {"name": "NEW_VAR", "value": "1"}}


def test_an_env_var_only_the_overlay_has(cli, tmp_path: Path) -> None:
    code, text, report = verify(cli, *setup(tmp_path, kustomize=_insert_env_front))
    assert code == 1
    assert detail_lines(text) == [f'{VLLM}/env[NEW_VAR]: only in kustomize: {{"name": "NEW_VAR", "value": "1"}}']


def test_a_changed_value_behind_an_inserted_var_keeps_both_pointers(cli, tmp_path: Path) -> None:
    def change(docs: Docs) -> None:
        _insert_env_front(docs)
        next(e for e in _vllm(docs)["env"] if e["name"] == "HF_HOME")["value"] = "/elsewhere"

    code, text, report = verify(cli, *setup(tmp_path, kustomize=change))
    assert code == 1
    assert f'{VLLM}/env[HF_HOME]/value: helm "/model-cache", kustomize "/elsewhere"' in detail_lines(text)
    diff = next(d for d in decode_differences(report) if d["change"] == "changed")
    assert diff["path"] == "/spec/template/spec/containers/0/env/3/value"
    assert diff["kustomizePath"] == "/spec/template/spec/containers/0/env/4/value"


def test_only_the_order_differs_is_one_line_and_still_not_equivalent(cli, tmp_path: Path) -> None:
    def reverse(docs: Docs) -> None:
        _vllm(docs)["env"].reverse()

    overlay, manifest = setup(tmp_path, kustomize=reverse)
    code, text, report = verify(cli, overlay, manifest)
    assert code == 1
    assert detail_lines(text) == [f"{VLLM}/env: order differs: helm [DP_SIZE, TP_SIZE, DP_SIZE_LOCAL, HF_HOME], "
                                  "kustomize [HF_HOME, DP_SIZE_LOCAL, TP_SIZE, DP_SIZE]"]
    [diff] = decode_differences(report)
    assert (diff["path"], diff["change"]) == ("/spec/template/spec/containers/0/env", "reordered")
    assert verify(cli, overlay, manifest, "--no-ordered-lists")[0] == 0


def test_arguments_are_matched_by_flag(cli, tmp_path: Path) -> None:
    def change(docs: Docs) -> None:
        args = _vllm(docs)["args"]
        args[args.index("--port") + 1] = "9000"
        args[1:1] = ["--max-model-len", "4096"]

    code, text, report = verify(cli, *setup(tmp_path, kustomize=change))
    assert code == 1
    assert sorted(detail_lines(text)) == [
        f'{VLLM}/args[--max-model-len]: only in kustomize: ["--max-model-len", "4096"]',
        f'{VLLM}/args[--port]: helm "8200", kustomize "9000"']
    port = next(d for d in decode_differences(report) if d["named"] == f"{VLLM}/args[--port]")
    assert port["path"] == "/spec/template/spec/containers/0/args/2"
    assert port["kustomizePath"] == "/spec/template/spec/containers/0/args/4"


def test_flags_in_another_order_are_one_line(cli, tmp_path: Path) -> None:
    def swap(docs: Docs) -> None:
        vllm = _vllm(docs)
        vllm["args"] = vllm["args"][:1] + vllm["args"][3:] + vllm["args"][1:3]

    code, text, _ = verify(cli, *setup(tmp_path, kustomize=swap))
    assert code == 1
    assert detail_lines(text) == [f"{VLLM}/args: order differs: helm [--port, --served-model-name], "
                                  "kustomize [--served-model-name, --port]"]


def test_a_flag_with_equals_and_the_command(cli, tmp_path: Path) -> None:
    def change(docs: Docs) -> None:
        proxy = _decode(docs)["spec"]["template"]["spec"]["initContainers"][0]
        proxy["args"] = [a.replace("--zap-log-level=debug", "--zap-log-level=info") for a in proxy["args"]]
        _vllm(docs)["command"] = ["vllm", "serve", "--disable-log-stats"]

    code, text, _ = verify(cli, *setup(tmp_path, kustomize=change))
    assert code == 1
    assert sorted(detail_lines(text)) == [
        f'{VLLM}/command[--disable-log-stats]: only in kustomize: "--disable-log-stats"',
        f'{POD}/initContainers[routing-proxy]/args[--zap-log-level]: helm "--zap-log-level=debug", '
        'kustomize "--zap-log-level=info"']


def test_containers_volumes_mounts_and_ports_by_name(cli, tmp_path: Path) -> None:
    def change(docs: Docs) -> None:
        spec = _decode(docs)["spec"]["template"]["spec"]
        spec["volumes"].insert(0, {"name": "scratch", "emptyDir": {}})
        next(v for v in spec["volumes"] if v["name"] == "model-storage")["emptyDir"]["sizeLimit"] = "40Gi"
        _vllm(docs)["volumeMounts"].insert(0, {"name": "scratch", "mountPath": "/scratch"})
        spec["initContainers"][0]["ports"][0]["containerPort"] = 8001
        spec["containers"].insert(0, {"name": "sidecar", "image": "busybox"})

    code, text, _ = verify(cli, *setup(tmp_path, kustomize=change))
    assert code == 1
    assert sorted(detail_lines(text)) == [
        f'{POD}/containers[sidecar]: only in kustomize: {{"image": "busybox", "name": "sidecar"}}',
        f'{VLLM}/volumeMounts[scratch]: only in kustomize: {{"mountPath": "/scratch", "name": "scratch"}}',
        # ports without a name are keyed by containerPort (their merge key)
        f'{POD}/initContainers[routing-proxy]/ports[containerPort=8000]: only in helm: {{"containerPort": 8000}}',
        f'{POD}/initContainers[routing-proxy]/ports[containerPort=8001]: only in kustomize: {{"containerPort": 8001}}',
        f'{POD}/volumes[model-storage]/emptyDir/sizeLimit: helm "20Gi", kustomize "40Gi"',
        f'{POD}/volumes[scratch]: only in kustomize: {{"name": "scratch"}}',  # emptyDir {} is empty
    ]


# --- the differ: whatever the matching, differences exist exactly when the objects differ ---------

_names = st.sampled_from(["A", "B", "C", "D", "E"])
_env = st.lists(st.fixed_dictionaries({"name": _names, "value": st.sampled_from(["1", "2", 1, True])}),
                max_size=5)
_args = st.lists(st.sampled_from(["model", "--a", "--b", "--c=1", "--c=2", "1", "2", "-x"]), max_size=7)


@settings(max_examples=400, deadline=None)
@given(helm_env=_env, kustomize_env=_env, helm_args=_args, kustomize_args=_args, ordered=st.booleans())
def test_differences_exactly_when_unequal(helm_env, kustomize_env, helm_args, kustomize_args, ordered) -> None:
    helm = {"containers": [{"name": "c", "env": helm_env, "args": helm_args}]}
    kustomize = {"containers": [{"name": "c", "env": kustomize_env, "args": kustomize_args}]}
    if not ordered:  # what the ordered-lists rule does when switched off
        from migrate.normalise import RULES, normalise
        rules = [r for r in RULES if r != "ordered-lists"]
        helm, kustomize = normalise(helm, rules), normalise(kustomize, rules)
    found = diff_objects(helm, kustomize, ordered=ordered)
    assert bool(found) == (not same(helm, kustomize))
    assert all(d.path.startswith("/") for d in found)


def test_a_shell_copy_of_the_fixture_is_equal(cli, tmp_path: Path) -> None:
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    shutil.copy(FIXTURES / CASE / "manifest.yaml", overlay / "objects.yaml")
    (overlay / "kustomization.yaml").write_text("resources: [objects.yaml]\n")
    assert verify(cli, overlay, FIXTURES / CASE / "manifest.yaml")[0] == 0
