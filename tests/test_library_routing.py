"""The library's inference-gateway components (``components/gateway/...``) against Helm renders of v0.2.x.

Everything is rendered by real Kustomize (``migrate.tools``). The Helm renders
are copies in ``tests/data/v0.2`` (see its ``cases.yaml``); nothing under
/work/shared is read at run time.

What may differ between a library object and Helm's, each listed once below:

- ``RELEASE_FIELDS``: values that depend on the release name or namespace but
  are not object references. The library keeps its defaults there; the
  migration tool patches them.
- ``VERSION_FIELDS``: fields that only some chart versions render for default
  values. The library has them (most versions do); the tool removes them.
- ``KUSTOMIZE_FIELDS``: fields Kustomize always writes and Helm leaves out, with
  the same meaning to the API server.
- Helm provenance labels and ``metadata.namespace`` are ignored.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate import tools

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "kustomize"
DATA = Path(__file__).resolve().parent / "data" / "v0.2"
CASES = yaml.safe_load((DATA / "cases.yaml").read_text())["cases"]
DEFAULTS = [c for c in CASES if c["case"] == "defaults"]
PROVENANCE = ("helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")

# What the chart renders by default (epp.create, epp.pluginsConfigFile,
# inferencePool.create, httpRoute.create), in the order the components must come.
GATEWAY = ["gateway/epp", "gateway/epp-plugins-config", "gateway/inference-pool", "gateway/http-route"]

# The objects each component adds to the base, by kind and library name.
EPP = [("ServiceAccount", "modelservice-epp"), ("Role", "modelservice-epp"), ("RoleBinding", "modelservice-epp"),
       ("Service", "modelservice-epp"), ("Deployment", "modelservice-epp")]
ADDS = {
    "gateway/epp": EPP,
    "gateway/epp-plugins-config": [("ConfigMap", "modelservice-epp")],
    "gateway/inference-pool": [("InferencePool", "modelservice")],
    "gateway/inference-model": [("InferenceModel", "modelservice")],
    "gateway/http-route": [("HTTPRoute", "modelservice")],
}
ADDS["gateway"] = [obj for component in GATEWAY for obj in ADDS[component]]
# The objects of every release, which the gateway components leave to the base.
BASE = {("ServiceAccount", ""), ("Deployment", "-decode"), ("Deployment", "-prefill")}

Path_ = tuple[Any, ...]
EPP_ARGS = ("spec", "template", "spec", "containers", 0, "args")

# (kind, library name, path): (library default, Helm's value for {fullname} / {namespace})
RELEASE_FIELDS: dict[tuple[str, str, Path_], tuple[str, str]] = {
    ("Deployment", "modelservice-epp", ("metadata", "labels", "llm-d.ai/epp")): ("modelservice-epp", "{fullname}-epp"),
    ("Deployment", "modelservice-epp", ("spec", "selector", "matchLabels", "llm-d.ai/epp")):
        ("modelservice-epp", "{fullname}-epp"),
    ("Deployment", "modelservice-epp", ("spec", "template", "metadata", "labels", "llm-d.ai/epp")):
        ("modelservice-epp", "{fullname}-epp"),
    ("Deployment", "modelservice-epp", (*EPP_ARGS, 1)): ("modelservice", "{fullname}"),   # --poolName
    ("Deployment", "modelservice-epp", (*EPP_ARGS, 3)): ("default", "{namespace}"),       # --poolNamespace
    ("Service", "modelservice-epp", ("spec", "selector", "llm-d.ai/epp")): ("modelservice-epp", "{fullname}-epp"),
    ("HTTPRoute", "modelservice", ("spec", "parentRefs", 0, "namespace")): ("default", "{namespace}"),
}

# (kind, library name, path): the versions whose default render lacks the field.
VERSION_FIELDS: dict[tuple[str, str, Path_], set[str]] = {
    ("HTTPRoute", "modelservice", ("metadata", "annotations", "helm.sh/hook")): {"v0.2.0"},
    ("HTTPRoute", "modelservice", ("spec", "parentRefs", 0, "namespace")): {"v0.2.0", "v0.2.1"},
    ("HTTPRoute", "modelservice", ("spec", "rules", 0, "matches", 0, "headers")):
        {"v0.2.0", "v0.2.1", "v0.2.3", "v0.2.4", "v0.2.5", "v0.2.6", "v0.2.7"},
}

# (kind, library name, path): the value Kustomize writes where Helm writes nothing. Helm's
# EPP RoleBinding names its ServiceAccount subject without a namespace; Kustomize's
# name-reference step, the very last of a build, writes the ServiceAccount's namespace there
# whenever the overlay sets one (``namespace:`` or a NamespaceTransformer, even with
# ``setRoleBindingSubjects: none``), and no patch or transformer runs after it. The RBAC
# authorizer reads a missing subject namespace as the RoleBinding's own, so both mean the same.
KUSTOMIZE_FIELDS: dict[tuple[str, str, Path_], str] = {
    ("RoleBinding", "modelservice-epp", ("subjects", 0, "namespace")): "{namespace}",
}

Objects = list[dict[str, Any]]


# --- helpers ---------------------------------------------------------------------


def build(overlay: Path) -> Objects:
    """Render ``overlay`` with real Kustomize."""
    return [doc for doc in yaml.safe_load_all(tools.kustomize_build(overlay, None)) if doc]


def by_kind_name(objects: Objects) -> dict[tuple[str, str], dict]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}


def overlay(directory: Path, components: list[str], *, resource: str = "accelerators/nvidia",
            prefix: str | None = None, suffix: str | None = None, namespace: str | None = None,
            transformer: bool = False, literals: dict[str, str] | None = None, patches: list[dict] | None = None,
            model_config: bool = True) -> Path:
    """Write a kustomization on the library into ``directory``: ``namespace:``, or with
    ``transformer`` an inline NamespaceTransformer that leaves RoleBinding subjects alone."""
    directory.mkdir(parents=True, exist_ok=True)
    lib = os.path.relpath(LIBRARY, directory)
    kust: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
    if prefix:
        kust["namePrefix"] = prefix
    if suffix:
        kust["nameSuffix"] = suffix
    if namespace and not transformer:
        kust["namespace"] = namespace
    kust["resources"] = [f"{lib}/{resource}"]
    kust["components"] = [f"{lib}/components/{c}" for c in [*components, *(["model-config"] if model_config else [])]]
    if literals:
        kust["configMapGenerator"] = [{"name": "model-config", "behavior": "merge",
                                       "literals": [f"{k}={v}" for k, v in literals.items()]}]
    if patches:
        kust["patches"] = patches
    if namespace and transformer:
        kust["transformers"] = [yaml.safe_dump({
            "apiVersion": "builtin", "kind": "NamespaceTransformer",
            "metadata": {"name": "release-namespace", "namespace": namespace},
            "setRoleBindingSubjects": "none",
        })]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kust, sort_keys=False))
    return directory


def helm_objects(case: dict) -> Objects:
    text = (DATA / case["version"] / case["case"] / "manifest.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def gateway_keys(objects: Objects, prefix: str) -> set[tuple[str, str]]:
    """(kind, name) of every object that is not one of the base's, names with ``prefix`` removed."""
    keys = {(o["kind"], o["metadata"]["name"].removeprefix(prefix)) for o in objects}
    return {k for k in keys if (k[0], k[1].removeprefix("modelservice")) not in BASE}


def comparable(obj: dict) -> dict:
    """``obj`` without metadata.namespace and Helm provenance labels."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    meta.pop("namespace", None)
    labels = {k: v for k, v in meta.pop("labels", {}).items() if k not in PROVENANCE}
    if labels:
        meta["labels"] = labels
    return obj


MISSING = object()


def get(obj: Any, path: Path_) -> Any:
    for key in path:
        try:
            obj = obj[key]
        except (KeyError, IndexError, TypeError):
            return MISSING
    return obj


def put(obj: Any, path: Path_, value: Any) -> None:
    get(obj, path[:-1])[path[-1]] = value


def delete(obj: Any, path: Path_) -> None:
    """Remove the field at ``path``, and the mappings that it leaves empty."""
    del get(obj, path[:-1])[path[-1]]
    if len(path) > 1 and get(obj, path[:-1]) == {}:
        delete(obj, path[:-1])


def fullname(case: dict) -> str:
    return f"{case['release']}-llm-d-modelservice"


def expected_differences(library: dict, helm: dict, case: dict) -> tuple[dict, dict]:
    """Both objects with the RELEASE_FIELDS, VERSION_FIELDS and KUSTOMIZE_FIELDS accounted
    for: each such field must have the documented value on both sides; it is then left out."""
    library, helm = comparable(library), comparable(helm)
    kind, name = library["kind"], library["metadata"]["name"].removeprefix(f"{case['release']}-llm-d-")
    for (k, n, path), versions in VERSION_FIELDS.items():
        if (k, n) == (kind, name) and case["version"] in versions:
            assert get(library, path) is not MISSING, path
            assert get(helm, path) is MISSING, f"{case['version']} renders {path}: drop it from VERSION_FIELDS"
            delete(library, path)
    for (k, n, path), (default, value) in RELEASE_FIELDS.items():
        if (k, n) == (kind, name) and get(library, path) is not MISSING:
            assert get(library, path) == default, path
            assert get(helm, path) == value.format(fullname=fullname(case), namespace=case["namespace"]), path
            put(library, path, "<release>")
            put(helm, path, "<release>")
    for (k, n, path), value in KUSTOMIZE_FIELDS.items():
        if (k, n) == (kind, name):
            assert get(library, path) == value.format(namespace=case["namespace"]), path
            assert get(helm, path) is MISSING, path
            delete(library, path)
    return library, helm


# --- the gateway objects equal Helm's --------------------------------------------------


def release_overlay(tmp_path: Path, case: dict, components: list[str], patches: list[dict] | None = None) -> Objects:
    """The library for ``case``'s release, as the migration tool composes it."""
    return build(overlay(tmp_path / "overlay", [*components, "routing-proxy"], prefix=f"{case['release']}-llm-d-",
                         namespace=case["namespace"], literals={"modelLabel": case["modelLabel"]}, patches=patches))


def check_gateway(rendered: Objects, case: dict) -> None:
    prefix = f"{case['release']}-llm-d-"
    helm = helm_objects(case)
    assert gateway_keys(rendered, prefix) == gateway_keys(helm, prefix)
    ours = by_kind_name(rendered)
    for theirs in helm:
        key = (theirs["kind"], theirs["metadata"]["name"])
        if (key[0], key[1].removeprefix(prefix)) not in gateway_keys(helm, prefix):
            continue
        library, expected = expected_differences(ours[key], theirs, case)
        assert library == expected, key


@pytest.mark.parametrize("case", DEFAULTS, ids=lambda c: c["version"])
def test_gateway_objects_equal_the_chart_defaults(case: dict, tmp_path: Path) -> None:
    check_gateway(release_overlay(tmp_path, case, GATEWAY), case)


@pytest.mark.parametrize("case", DEFAULTS, ids=lambda c: c["version"])
def test_gateway_component_is_the_chart_defaults(case: dict, tmp_path: Path) -> None:
    check_gateway(release_overlay(tmp_path, case, ["gateway"]), case)


def test_gateway_objects_of_another_release_and_namespace(tmp_path: Path) -> None:
    [case] = [c for c in CASES if c["case"] == "feature-single-node-nvidia"]
    check_gateway(release_overlay(tmp_path, case, ["gateway", "decode-only"]), case)


def test_inference_model_equals_the_chart(tmp_path: Path) -> None:
    """The release sets routing.inferenceModel.criticality: Standard, which the tool patches."""
    [case] = [c for c in CASES if c["case"] == "feature-routing-inferencemodel"]
    criticality = {"target": {"kind": "InferenceModel", "name": "modelservice"},
                   "patch": "- op: replace\n  path: /spec/criticality\n  value: Standard\n"}
    check_gateway(release_overlay(tmp_path, case, ["gateway", "gateway/inference-model"], [criticality]), case)


def test_version_fields_are_the_only_differences_between_versions() -> None:
    """VERSION_FIELDS stays minimal: every other gateway object renders alike in the copied versions."""
    renders = {}
    for case in DEFAULTS:
        objects = [comparable(o) for o in helm_objects(case)]
        for (kind, name, path), versions in VERSION_FIELDS.items():
            for obj in objects:
                if (obj["kind"], obj["metadata"]["name"]) == (kind, f"ms-llm-d-{name}") and case["version"] not in versions:
                    delete(obj, path)
        renders[case["version"]] = sorted((yaml.safe_dump(o) for o in objects if o["kind"] not in ("Deployment", "ServiceAccount")
                                           or o["metadata"]["name"].endswith("-epp")))
    assert len({tuple(r) for r in renders.values()}) == 1


# --- building blocks ---------------------------------------------------------------------


def base_keys() -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in build(LIBRARY / "base")}


@pytest.mark.parametrize("component", sorted(ADDS))
def test_component_builds_alone_on_the_base(component: str, tmp_path: Path) -> None:
    objects = build(overlay(tmp_path, [component], resource="base", model_config=False))
    keys = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert sorted(set(keys) - base_keys()) == sorted(ADDS[component])
    assert len(keys) == len(set(keys))


def test_plugins_config_mounts_the_configmap_into_the_epp(tmp_path: Path) -> None:
    without = by_kind_name(build(overlay(tmp_path / "a", ["gateway/epp"], resource="base")))
    with_config = by_kind_name(build(overlay(tmp_path / "b", ["gateway/epp", "gateway/epp-plugins-config"],
                                             resource="base")))
    plain, mounted = without["Deployment", "modelservice-epp"], with_config["Deployment", "modelservice-epp"]
    assert get(mounted, EPP_ARGS)[-2:] == ["-configFile", "config/default-config.yaml"]
    assert get(mounted, EPP_ARGS)[:-2] == get(plain, EPP_ARGS)
    assert get(mounted, (*EPP_ARGS, 13)) == "config/default-config.yaml"   # the index the READMEs name
    assert get(plain, EPP_ARGS)[4:6] == ["-v", "4"]                         # args/5: routing.epp.debugLevel
    pod = mounted["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "plugins-config-volume", "configMap": {"name": "modelservice-epp"}}]
    assert pod["containers"][0]["volumeMounts"] == [{"name": "plugins-config-volume", "mountPath": "/config"}]
    assert "volumes" not in plain["spec"]["template"]["spec"]
    assert "default-config.yaml" in with_config["ConfigMap", "modelservice-epp"]["data"]


@pytest.mark.parametrize(("prefix", "suffix"), [("x-", None), ("ms-llm-d-", None), ("p-", "-s")])
def test_references_follow_the_names(prefix: str, suffix: str | None, tmp_path: Path) -> None:
    objects = by_kind_name(build(overlay(tmp_path, ["gateway", "gateway/inference-model"], prefix=prefix,
                                         suffix=suffix, namespace="ns")))

    def name(library: str) -> str:
        return f"{prefix}{library}{suffix or ''}"

    epp = name("modelservice-epp")
    binding = objects["RoleBinding", epp]
    assert binding["roleRef"]["name"] == epp
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": epp, "namespace": "ns"}]
    pod = objects["Deployment", epp]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == pod["serviceAccount"] == epp
    assert pod["volumes"][0]["configMap"]["name"] == epp
    assert ("ConfigMap", epp) in objects and ("Service", epp) in objects
    assert objects["InferencePool", name("modelservice")]["spec"]["extensionRef"]["name"] == epp
    assert objects["HTTPRoute", name("modelservice")]["spec"]["rules"][0]["backendRefs"][0]["name"] == name("modelservice")
    assert objects["InferenceModel", name("modelservice")]["spec"]["poolRef"]["name"] == name("modelservice")
    # not references: library defaults the tool patches (RELEASE_FIELDS)
    assert get(objects["Deployment", epp], EPP_ARGS)[:4] == ["--poolName", "modelservice", "--poolNamespace", "default"]
    assert objects["Service", epp]["spec"]["selector"] == {"llm-d.ai/epp": "modelservice-epp"}
    assert {o["metadata"]["namespace"] for o in objects.values()} == {"ns"}


@pytest.mark.parametrize("transformer", [False, True], ids=["namespace-field", "no-subjects-transformer"])
def test_kustomize_always_names_the_subject_namespace(transformer: bool, tmp_path: Path) -> None:
    """KUSTOMIZE_FIELDS: with a namespace set either way, the subject gets it; without, it has none."""
    objects = by_kind_name(build(overlay(tmp_path / "a", ["gateway/epp"], prefix="ms-llm-d-", namespace="llm-d",
                                         transformer=transformer)))
    assert objects["RoleBinding", "ms-llm-d-modelservice-epp"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "ms-llm-d-modelservice-epp", "namespace": "llm-d"}]
    objects = by_kind_name(build(overlay(tmp_path / "b", ["gateway/epp"], prefix="ms-llm-d-")))
    assert objects["RoleBinding", "ms-llm-d-modelservice-epp"]["subjects"] == [
        {"kind": "ServiceAccount", "name": "ms-llm-d-modelservice-epp"}]


def test_model_label_literal_drives_the_pool_and_the_model(tmp_path: Path) -> None:
    objects = by_kind_name(build(overlay(tmp_path, ["gateway", "gateway/inference-model"], prefix="r-",
                                         literals={"modelLabel": "my-label"})))
    assert objects["InferencePool", "r-modelservice"]["spec"]["selector"] == {
        "llm-d.ai/inferenceServing": "true", "llm-d.ai/model": "my-label"}
    assert objects["InferenceModel", "r-modelservice"]["metadata"]["labels"]["llm-d.ai/model"] == "my-label"
    assert objects["Deployment", "r-modelservice-decode"]["spec"]["template"]["metadata"]["labels"]["llm-d.ai/model"] \
        == "my-label"


def test_model_label_default_is_the_library_default(tmp_path: Path) -> None:
    objects = by_kind_name(build(overlay(tmp_path, ["gateway", "gateway/inference-model"])))
    default = dict(line.split("=", 1) for line in (LIBRARY / "base" / "config" / "model-config.env").read_text().split())
    assert objects["InferencePool", "modelservice"]["spec"]["selector"]["llm-d.ai/model"] == default["modelLabel"]
    assert objects["InferenceModel", "modelservice"]["spec"]["modelName"] == default["modelName"]


@pytest.mark.parametrize("others", [["multinode"], ["prefill-disaggregation", "monitoring"], ["decode-only"]])
def test_gateway_leaves_the_model_workloads_alone(others: list[str], tmp_path: Path) -> None:
    alone = build(overlay(tmp_path / "a", others, prefix="c-", namespace="combos"))
    together = build(overlay(tmp_path / "b", ["gateway", *others], prefix="c-", namespace="combos"))
    gateway = {(kind, f"c-{name}") for kind, name in ADDS["gateway"]}
    assert [o for o in together if (o["kind"], o["metadata"]["name"]) not in gateway] == alone
    assert gateway <= {(o["kind"], o["metadata"]["name"]) for o in together}
