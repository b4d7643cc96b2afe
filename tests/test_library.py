"""The Kustomize library: examples equal their Helm releases, README snippets work, combinations build.

Everything is rendered by real Kustomize (``migrate.tools``); nothing here
re-implements Kustomize.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate import tools

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "kustomize"
README = LIBRARY / "README.md"
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice" / "v0.4.12"
EXAMPLES_DIR = LIBRARY / "overlays" / "examples"
COMBINATIONS_DIR = Path(__file__).resolve().parent / "library" / "combinations"

CASES = {c["name"]: c for c in yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]}
EXAMPLES = sorted(name.removeprefix("example-") for name in CASES if name.startswith("example-"))
COMBINATIONS = sorted(p.name for p in COMBINATIONS_DIR.iterdir() if (p / "kustomization.yaml").is_file())

ACCELERATOR_RESOURCES = {
    "nvidia": "nvidia.com/gpu",
    "intel-xe": "gpu.intel.com/xe",
    "intel-i915": "gpu.intel.com/i915",
    "intel-gaudi": "habana.ai/gaudi",
    "amd": "amd.com/gpu",
    "google-tpu": "google.com/tpu",
    "rebellions-atom": "rebellions.ai/ATOM",
    "cpu": None,
}


def _components() -> list[str]:
    """Every Component folder under components/, e.g. ``multinode``, ``dra/intel-xe``."""
    root = LIBRARY / "components"
    found = {
        path.parent.relative_to(root).as_posix()
        for path in root.rglob("kustomization.yaml")
        if yaml.safe_load(path.read_text()).get("kind") == "Component"
    }
    return sorted(found - {"dra/nvidia"})  # `dra` is `dra/nvidia`


COMPONENTS = _components()
WORKLOAD_KINDS = ("Deployment", "LeaderWorkerSet")
Objects = list[dict[str, Any]]


# --- helpers ---------------------------------------------------------------------


def build(overlay: Path) -> Objects:
    """Render ``overlay`` with real Kustomize."""
    return [doc for doc in yaml.safe_load_all(tools.kustomize_build(overlay)) if doc]


def by_kind_name(objects: Objects) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "LeaderWorkerSet":
        return obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    return obj["spec"]["template"]["spec"]


def pod_labels(obj: dict) -> dict:
    if obj["kind"] == "LeaderWorkerSet":
        return obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]["metadata"]["labels"]
    return obj["spec"]["template"]["metadata"]["labels"]


def vllm(obj: dict) -> dict:
    return pod_spec(obj)["containers"][0]


def workload(objects: Objects, role: str) -> dict:
    [found] = [o for o in objects if o["kind"] in WORKLOAD_KINDS and o["metadata"]["name"].endswith(f"-{role}")]
    return found


def role_of(obj: dict) -> str:
    return pod_labels(obj)["llm-d.ai/role"]


def kustomization(path: Path) -> dict:
    return yaml.safe_load((path / "kustomization.yaml").read_text())


def literals(kust: dict) -> dict[str, str]:
    [gen] = [g for g in kust["configMapGenerator"] if g["name"] == "model-config"]
    return dict(item.split("=", 1) for item in gen["literals"])


def readme_block(heading: str, lang: str) -> str:
    """The first ``lang`` code block after the README heading ``heading``."""
    text = README.read_text()
    match = re.search(rf"^#+ {re.escape(heading)}\n.*?```{lang}\n(.*?)```", text, re.S | re.M)
    assert match, f"README has no {lang} block under '{heading}'"
    return match.group(1)


def run_shell(script: str, cwd: Path) -> None:
    """Run README shell lines, minus editor and cluster commands, in ``cwd``."""
    lines = [line for line in script.splitlines() if not line.startswith(("vim ", "kubectl "))]
    subprocess.run(["bash", "-euc", "\n".join(lines)], cwd=cwd, check=True)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A scratch copy of the library, laid out like the repository (``<tmp>/kustomize``)."""
    shutil.copytree(LIBRARY, tmp_path / "kustomize")
    return tmp_path


@pytest.fixture
def my_deployment(checkout: Path) -> Path:
    """README Method 1: the single-node-nvidia example copied to overlays/my-deployment."""
    run_shell(readme_block("Method 1: copy and modify an example", "bash"), checkout)
    return checkout / "kustomize" / "overlays" / "my-deployment"


def add_snippet(overlay: Path, snippet: str) -> None:
    """Edit the overlay as the README says: merge literals into model-config, append patches."""
    kust = kustomization(overlay)
    extra = yaml.safe_load(snippet)
    for gen in extra.get("configMapGenerator", []):
        [mine] = [g for g in kust["configMapGenerator"] if g["name"] == gen["name"]]
        merged = literals({"configMapGenerator": [mine]}) | literals({"configMapGenerator": [gen]})
        mine["literals"] = [f"{k}={v}" for k, v in merged.items()]
    kust.setdefault("patches", []).extend(extra.get("patches", []))
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kust, sort_keys=False))


# --- examples ----------------------------------------------------------------------


def test_every_fixture_example_has_an_overlay() -> None:
    overlays = sorted(p.name for p in EXAMPLES_DIR.iterdir() if p.is_dir())
    assert overlays == EXAMPLES


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_renders_the_objects_of_its_helm_release(name: str, cli: Callable) -> None:
    case = CASES[f"example-{name}"]
    result = cli(
        "verify", EXAMPLES_DIR / name,
        "--manifest", FIXTURES / f"example-{name}" / "manifest.yaml",
        "--namespace", case["namespace"],
    )
    assert result.exit_code == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_names_the_release_and_namespace(name: str) -> None:
    case = CASES[f"example-{name}"]
    kust = kustomization(EXAMPLES_DIR / name)
    assert kust["namePrefix"] == f"{case['release']}-llm-d-"
    assert kust["namespace"] == case["namespace"]
    assert kust["components"][-1].endswith("components/model-config")


LITERAL_CHANGES = {
    "modelName": "other-org/other-model",
    "modelUri": "hf://other-org/other-weights",
    "modelSize": "77Gi",
    "modelLabel": "other-label",
}
# In requester mode the chart has no model volume and no model label in the decode workload.
LITERALS_WITHOUT_EFFECT = {("fma-requester", "modelSize"), ("fma-requester", "modelLabel")}


@pytest.mark.parametrize("literal", sorted(LITERAL_CHANGES))
@pytest.mark.parametrize("name", EXAMPLES)
def test_each_literal_changes_the_rendered_workloads(name: str, literal: str, checkout: Path) -> None:
    if (name, literal) in LITERALS_WITHOUT_EFFECT:
        pytest.skip("the chart itself has no place for this value in requester mode")
    overlay = checkout / "kustomize" / "overlays" / "examples" / name
    before = build(overlay)
    add_snippet(overlay, yaml.safe_dump({"configMapGenerator": [
        {"name": "model-config", "behavior": "merge", "literals": [f"{literal}={LITERAL_CHANGES[literal]}"]},
    ]}))
    after = build(overlay)
    assert after != before
    assert LITERAL_CHANGES[literal].split("://")[-1] in yaml.safe_dump(after)
    assert not [o for o in after if o["kind"] == "ConfigMap"]


# --- README: methods and common customisations -------------------------------------------


def test_readme_method1_copy_renders_like_the_example(my_deployment: Path) -> None:
    assert build(my_deployment) == build(EXAMPLES_DIR / "single-node-nvidia")


def test_readme_change_model(my_deployment: Path) -> None:
    add_snippet(my_deployment, readme_block("Change model", "yaml"))
    objects = build(my_deployment)
    decode = workload(objects, "decode")
    args = vllm(decode)["args"]
    assert args[0] == "meta-llama/Llama-2-13b-hf"
    assert args[args.index("--served-model-name") + 1] == "meta-llama/Llama-2-13b-hf"
    [volume] = [v for v in pod_spec(decode)["volumes"] if v["name"] == "model-storage"]
    assert volume["emptyDir"]["sizeLimit"] == "50Gi"
    assert not [o for o in objects if o["kind"] == "ConfigMap"]


def test_readme_scale_replicas(my_deployment: Path) -> None:
    add_snippet(my_deployment, readme_block("Scale replicas", "yaml"))
    assert workload(build(my_deployment), "decode")["spec"]["replicas"] == 5


def test_readme_change_gpu_count(my_deployment: Path) -> None:
    add_snippet(my_deployment, readme_block("Change GPU count", "yaml"))
    resources = vllm(workload(build(my_deployment), "decode"))["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == "2"
    assert resources["requests"]["nvidia.com/gpu"] == "2"


def test_readme_use_custom_image(my_deployment: Path) -> None:
    add_snippet(my_deployment, readme_block("Use custom image", "yaml"))
    assert vllm(workload(build(my_deployment), "decode"))["image"] == "my-registry/vllm:custom"


def test_readme_add_environment_variables(my_deployment: Path) -> None:
    add_snippet(my_deployment, readme_block("Add environment variables", "yaml"))
    env = vllm(workload(build(my_deployment), "decode"))["env"]
    assert env[-1] == {"name": "MY_CUSTOM_VAR", "value": "my-value"}
    assert [e["name"] for e in env[:4]] == ["DP_SIZE", "TP_SIZE", "DP_SIZE_LOCAL", "HF_HOME"]


def test_readme_method2_compose_from_scratch(checkout: Path) -> None:
    run_shell(readme_block("Method 2: compose from scratch", "bash"), checkout)
    objects = build(checkout / "kustomize" / "overlays" / "my-custom-deployment")
    assert {o["metadata"].get("namespace") for o in objects} == {"my-namespace"}
    decode = workload(objects, "decode")
    assert decode["spec"]["replicas"] == 2
    assert vllm(decode)["resources"]["limits"]["memory"] == "64Gi"
    assert vllm(decode)["args"][:3] == ["my-org/my-model", "--port", "8200"]
    assert [c["name"] for c in pod_spec(decode)["initContainers"]] == ["routing-proxy"]
    assert ("PodMonitor", "modelservice-decode-podmonitor") in by_kind_name(objects)
    assert not [o for o in objects if o["kind"] == "ConfigMap"]


# --- library building blocks ---------------------------------------------------------------


@pytest.mark.parametrize("accelerator", sorted(ACCELERATOR_RESOURCES))
def test_accelerator_builds_alone_with_its_device_resource(accelerator: str) -> None:
    objects = build(LIBRARY / "accelerators" / accelerator)
    assert sorted(o["kind"] for o in objects) == ["Deployment", "Deployment", "ServiceAccount"]
    for obj in objects[1:]:
        check_device(vllm(obj), ACCELERATOR_RESOURCES[accelerator])


def test_accelerator_folders_are_the_documented_ones() -> None:
    assert sorted(p.name for p in (LIBRARY / "accelerators").iterdir() if p.is_dir()) == sorted(ACCELERATOR_RESOURCES)


def test_base_has_no_leaderworkerset_and_keeps_its_configmap_local() -> None:
    objects = build(LIBRARY / "base")
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == [
        ("Deployment", "modelservice-decode"), ("Deployment", "modelservice-prefill"),
        ("ServiceAccount", "modelservice"),
    ]
    assert by_kind_name(objects)["Deployment", "modelservice-prefill"]["spec"]["replicas"] == 0


def all_kustomizations() -> list[Path]:
    return sorted([*LIBRARY.rglob("kustomization.yaml"), *COMBINATIONS_DIR.rglob("kustomization.yaml")])


DEPRECATED = ("patchesStrategicMerge", "patchesJson6902", "bases", "commonLabels", "vars", "imageTags")


@pytest.mark.parametrize("path", all_kustomizations(), ids=lambda p: str(p.parent.relative_to(ROOT)))
def test_current_kustomize_syntax_only(path: Path) -> None:
    doc = yaml.safe_load(path.read_text())
    assert not set(doc) & set(DEPRECATED)
    if doc.get("kind") == "Component":
        assert doc["apiVersion"] == "kustomize.config.k8s.io/v1alpha1"


def test_components_are_components() -> None:
    folders = {p.relative_to(LIBRARY / "components").as_posix() for p in (LIBRARY / "components").rglob("*") if p.is_dir()}
    grouping = {"legacy"}  # a folder of components, each for older chart releases
    assert folders - {"dra/keep-claim-template-names", "dra/nvidia"} - grouping == set(COMPONENTS)


def test_every_library_folder_has_a_readme() -> None:
    folders = [LIBRARY, *(p for p in LIBRARY.rglob("*") if p.is_dir())]
    assert [f for f in folders if not (f / "README.md").is_file()] == []


# --- combinations ----------------------------------------------------------------------------


def combination_parts(name: str) -> tuple[str, list[str]]:
    kust = kustomization(COMBINATIONS_DIR / name)
    [accelerator] = [r.split("/accelerators/")[1] for r in kust["resources"]]
    components = [c.split("/components/")[1] for c in kust["components"]]
    return accelerator, components


def test_combinations_cover_every_accelerator_and_component() -> None:
    parts = [combination_parts(name) for name in COMBINATIONS]
    assert {a for a, _ in parts} == set(ACCELERATOR_RESOURCES)
    assert {c for _, cs in parts for c in cs} == set(COMPONENTS)
    for wanted in [{"multinode", "monitoring"}, {"prefill-disaggregation", "routing-proxy"},
                   {"dra", "multinode"}, {"requester", "monitoring"}]:
        assert any(wanted <= set(cs) for _, cs in parts), wanted


@pytest.mark.parametrize("name", COMBINATIONS)
def test_combination_invariants(name: str) -> None:
    accelerator, components = combination_parts(name)
    kust = kustomization(COMBINATIONS_DIR / name)
    model = literals(kust)
    everything = build(COMBINATIONS_DIR / name)
    # components/gateway/*: the EPP's objects are checked in tests/test_library_routing.py
    objects = [o for o in everything if not o["metadata"]["name"].endswith("-modelservice-epp")]
    kinds = [o["kind"] for o in objects]
    dra = any(c.split("/")[0] == "dra" for c in components)

    assert "ConfigMap" not in kinds
    assert ("LeaderWorkerSet" in kinds) == ("multinode" in components)
    if "multinode" in components:
        assert "Deployment" not in kinds
    assert ("ReplicaSet" in kinds) == ("requester" in components)
    assert ("PodMonitor" in kinds) == ("monitoring" in components)
    assert ("ResourceClaimTemplate" in kinds) == dra

    [account] = [o["metadata"]["name"] for o in objects if o["kind"] == "ServiceAccount"]
    gateway = any(c.split("/")[0] == "gateway" for c in components)
    assert ("InferencePool" in kinds) == gateway
    for obj in everything:
        if obj["kind"] != "ResourceClaimTemplate":
            assert obj["metadata"]["name"].startswith(kust["namePrefix"])
        assert obj["metadata"]["namespace"] == "combos"

    workloads = [o for o in objects if o["kind"] in WORKLOAD_KINDS]
    roles = sorted(role_of(o) for o in workloads)
    expected_roles = [] if "requester" in components else ["decode"]
    if "decode-only" not in components:
        expected_roles = sorted([*expected_roles, "prefill"])
    assert roles == expected_roles
    if "prefill-disaggregation" in components:
        assert workload(objects, "prefill")["spec"]["replicas"] == 1

    templates = {o["metadata"]["name"] for o in objects if o["kind"] == "ResourceClaimTemplate"}
    for obj in workloads:
        pod, container, role = pod_spec(obj), vllm(obj), role_of(obj)
        assert pod["serviceAccountName"] == account
        assert container["name"] == "vllm"
        check_model(obj, model)
        proxied = role == "decode" and "routing-proxy" in components
        assert [c["name"] for c in pod.get("initContainers", [])] == (["routing-proxy"] if proxied else [])
        if role == "prefill" and "prefill-default" in components:  # the chart's default: the simulator
            assert container["image"].startswith("ghcr.io/llm-d/llm-d-inference-sim:")
            assert container["args"][0] == "--model" and container["args"][2:4] == ["--port", "8000"]
            assert "command" not in container and "resources" not in container
            assert {"name": "metrics-volume", "mountPath": "/.config"} in container["volumeMounts"]
            continue
        assert container["args"][1:3] == ["--port", "8200" if proxied else "8000"]
        if dra:
            check_device(container, None)
            claims = [c["name"] for c in pod["resourceClaims"]]
            assert [c["name"] for c in container["resources"]["claims"]] == claims
            assert {c["resourceClaimTemplateName"] for c in pod["resourceClaims"]} <= templates
        else:
            check_device(container, ACCELERATOR_RESOURCES[accelerator])
            assert "resourceClaims" not in pod

    for obj in (o for o in objects if o["kind"] in ("InferencePool", "InferenceModel")):
        labels = obj["spec"]["selector"] if obj["kind"] == "InferencePool" else obj["metadata"]["labels"]
        assert labels["llm-d.ai/model"] == model["modelLabel"]
    for monitor in (o for o in objects if o["kind"] == "PodMonitor"):
        assert monitor["spec"]["selector"]["matchLabels"]["llm-d.ai/model"] == model["modelLabel"]
        role = monitor["metadata"]["labels"]["app.kubernetes.io/component"]
        assert role in roles or "requester" in components


def check_model(obj: dict, model: dict[str, str]) -> None:
    """The model-config literals reached the workload."""
    args = vllm(obj)["args"]
    model_arg = args[1] if args[0] == "--model" else args[0]  # components/prefill-default: --model first
    assert model_arg == model["modelUri"].split("://", 1)[1]
    assert args[args.index("--served-model-name") + 1] == model["modelName"]
    [volume] = [v for v in pod_spec(obj)["volumes"] if v["name"] == "model-storage"]
    assert volume["emptyDir"]["sizeLimit"] == model["modelSize"]
    assert pod_labels(obj)["llm-d.ai/model"] == model["modelLabel"]
    if obj["kind"] == "LeaderWorkerSet":
        assert obj["metadata"]["labels"] == pod_labels(obj)
    else:
        assert obj["spec"]["selector"]["matchLabels"] == pod_labels(obj)


def check_device(container: dict, resource: str | None) -> None:
    """The vLLM container asks for one ``resource`` (a string "1"), and for no other device."""
    limits, requests = container["resources"]["limits"], container["resources"]["requests"]
    for other in filter(None, ACCELERATOR_RESOURCES.values()):
        if other != resource:
            assert other not in limits and other not in requests
    if resource:
        assert limits[resource] == requests[resource] == "1"
