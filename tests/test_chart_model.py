"""The chart model against real Helm output (fixtures) and the spec's tables."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate import chart, yamlio
from migrate.chart import render
from migrate.chart.gotmpl import go_print
from migrate.chart.goyaml import to_yaml
from migrate.errors import ChartRefusal
from migrate.values import effective_values, merge_defaults
from migrate.yamlio import load_helm
from migrate.resources import chart_defaults_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "llm-d-modelservice" / "v0.4.12"
CASES = yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]
DROPPED_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}


def normalise(obj: Any, top: bool = True) -> Any:
    """Drop Helm bookkeeping labels, metadata.namespace and empty values (recursively)."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == "labels" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k not in DROPPED_LABELS}
            if top and key == "metadata" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "namespace"}
            value = normalise(value, top=False)
            if value is None or value == {} or value == []:
                continue
            out[key] = value
        return out
    if isinstance(obj, list):
        return [normalise(v, top=False) for v in obj]
    return obj


def by_identity(objects: list[Any]) -> dict[tuple[str, str], Any]:
    return {(o["kind"], o["metadata"]["name"]): normalise(o) for o in objects}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_case(case: dict[str, str]) -> None:
    folder = FIXTURES / case["name"]
    values = effective_values(folder / "values.yaml")
    got = by_identity(render(values, case["release"], case["namespace"]))
    expected_docs = [d for d in yaml.safe_load_all((folder / "manifest.yaml").read_text()) if d]
    expected = by_identity(expected_docs)
    assert sorted(got) == sorted(expected)
    for ident, obj in expected.items():
        assert got[ident] == obj, ident


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_document_order(case: dict[str, str]) -> None:
    folder = FIXTURES / case["name"]
    values = effective_values(folder / "values.yaml")
    got = [(o["kind"], o["metadata"]["name"]) for o in render(values, case["release"], case["namespace"])]
    docs = [d for d in yaml.safe_load_all((folder / "manifest.yaml").read_text()) if d]
    assert got == [(d["kind"], d["metadata"]["name"]) for d in docs]


# ---------------------------------------------------------------------------------------------
# Spec tables and edge cases the fixtures do not cover

DEFAULTS = load_helm(chart_defaults_path("v0.4.12").read_text())
SIM = "ghcr.io/llm-d/llm-d-inference-sim:latest"


def eff(text: str = "") -> dict[str, Any]:
    """Effective values for a user values YAML text."""
    return merge_defaults(DEFAULTS, load_helm(text) or {})


def objects(text: str = "", release: str = "rel", namespace: str = "ns") -> list[dict[str, Any]]:
    return render(eff(text), release, namespace)


def find(objs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    matches = [o for o in objs if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(matches) == 1, [(o["kind"], o["metadata"]["name"]) for o in objs]
    return matches[0]


def pod(objs: list[dict[str, Any]], role: str = "decode", kind: str = "Deployment") -> dict[str, Any]:
    workload = find(objs, kind, f"rel-llm-d-modelservice-{role}")
    if kind == "LeaderWorkerSet":
        return workload["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    return workload["spec"]["template"]["spec"]


def vllm(extra: str = "") -> str:
    """A decode container list with one vllmServe container."""
    return f"decode: {{containers: [{{name: vllm, image: vllm/vllm, modelCommand: vllmServe{extra}}}]}}"


@pytest.mark.parametrize(
    "release, user, expected",
    [
        ("rel", "", "rel-llm-d-modelservice"),
        ("my-llm-d-modelservice-x", "", "my-llm-d-modelservice-x"),
        ("llm-d-modelservice", "", "llm-d-modelservice"),
        ("rel", "nameOverride: foo", "rel-foo"),
        ("foo-bar", "nameOverride: foo", "foo-bar"),
        ("rel", "nameOverride: el", "rel"),
        ("a234567890123456789012345678901234567", "", "a234567890123456789012345678901234567-llm-d-modelservic"),
        ("rel", "fullnameOverride: custom--", "custom-"),
        ("rel", "fullnameOverride: Custom_Name", "Custom_Name"),
        ("rel", "fullnameOverride: " + "a" * 54 + "-xyz", "a" * 54),
    ],
)
def test_fullname(release: str, user: str, expected: str) -> None:
    assert chart.fullname(eff(user), release) == expected


@pytest.mark.parametrize(
    "spec, size, dp_tp_dpl, gpus",
    [
        ({}, 1, (1, 1, 1), 1),
        ({"tensor": 8}, 1, (1, 8, 1), 8),
        ({"tensor": 2, "data": 8, "dataLocal": 4, "workers": 2}, 2, (8, 2, 4), 8),
        ({"tensor": 2, "data": 8, "workers": 2}, 2, (8, 2, 4), 8),
        ({"tensor": 2, "data": 8, "dataLocal": 2}, 4, (8, 2, 2), 4),
        ({"tensor": 2, "dataLocal": 4, "workers": 2}, 2, (8, 2, 4), 8),
        ({"tensor": 2, "dataLocal": 4}, 1, (4, 2, 4), 8),
        ({"tensor": 2, "data": 8, "dataLocal": 0, "workers": 0}, 1, (8, 2, 8), 16),
        ({"data": 8, "workers": 2, "dataLocal": 1, "tensor": 1}, 2, (8, 1, 1), 1),
        ({"tensor": 1, "data": 4}, 1, (4, 1, 4), 4),
        ({"tensor": 2, "data": 3, "dataLocal": 4, "workers": 5}, 5, (3, 2, 4), 8),
        ({"tensor": -2}, 1, (1, -2, 1), -2),
    ],
)
def test_parallelism_table(spec: dict[str, int], size: int, dp_tp_dpl: tuple[int, int, int], gpus: int) -> None:
    par = chart.parallelism(spec)
    assert (chart.lws_size(spec), (par.dp, par.tp, par.dpl), par.gpus) == (size, dp_tp_dpl, gpus)


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"data": 8, "workers": 3}, "multiple of parallelism.workers"),
        ({"data": -8, "workers": 3}, "multiple of parallelism.workers"),
    ],
)
def test_parallelism_refusals(spec: dict[str, int], message: str) -> None:
    with pytest.raises(ChartRefusal, match=message):
        chart.parallelism(spec)


def test_workers_refusal_only_for_leaderworkersets() -> None:
    spec = {"data": 8, "dataLocal": 3}
    assert chart.parallelism(spec).dpl == 3
    with pytest.raises(ChartRefusal, match="multiple of parallelism.dataLocal"):
        chart.lws_size(spec)
    objects("decode: {parallelism: {data: 8, dataLocal: 3, workers: null}}")
    with pytest.raises(ChartRefusal, match="multiple of parallelism.dataLocal"):
        objects("multinode: true\ndecode: {parallelism: {data: 8, dataLocal: 3, workers: null}}")


def test_parallelism_env_and_flags_from_text() -> None:
    """A 1e6 parallelism prints as 1e+06 in env; Sprig's int reads that text as 0."""
    container = pod(objects(vllm() + "\nprefill: {create: false}"))["containers"][0]
    assert [e["value"] for e in container["env"][:3]] == ["1", "1", "1"]
    par = chart.parallelism({"tensor": 1000000})
    assert (par.tp_text, par.tp, par.gpus) == ("1e+06", 0, 0)


ALL_PROXY = (
    "routing: {servicePort: '9000', proxy: {targetPort: 9200, connector: nixl, zapDevel: true, "
    "zapEncoder: console, zapLogLevel: 3, zapStacktraceLevel: error, zapTimeEncoding: iso8601, "
    "secure: true, prefillerUseTLS: false, certPath: ''}}"
)


@pytest.mark.parametrize(
    "user, args",
    [
        ("", ["--port=8000", "--vllm-port=8200", "--connector=nixlv2", "--zap-encoder=json", "--zap-log-level=debug", "--secure-proxy=false"]),
        ("routing: {proxy: {zapEncoder: null, zapLogLevel: null, secure: null}}", ["--port=8000", "--vllm-port=8200", "--connector=nixlv2"]),
        ("routing: {servicePort: 0, proxy: {targetPort: 0, connector: ''}}", ["--port=8000", "--vllm-port=8200", "--connector=nixlv2", "--zap-encoder=json", "--zap-log-level=debug", "--secure-proxy=false"]),
        (ALL_PROXY, ["--port=9000", "--vllm-port=9200", "--connector=nixl", "--zap-devel=true", "--zap-encoder=console", "--zap-log-level=3", "--zap-stacktrace-level=error", "--zap-time-encoding=iso8601", "--secure-proxy=true", "--prefiller-use-tls=false", "--cert-path="]),
    ],
)
def test_proxy_flags(user: str, args: list[str]) -> None:
    proxy = pod(objects(user))["initContainers"][0]
    assert (proxy["name"], proxy["args"]) == ("routing-proxy", args)


def test_proxy_container_port_is_an_integer_even_from_a_string() -> None:
    proxy = pod(objects(ALL_PROXY))["initContainers"][0]
    assert proxy["ports"] == [{"containerPort": 9000}]
    assert proxy["env"] is None and proxy["resources"] == {}


@pytest.mark.parametrize(
    "enabled, init, names, port",
    [
        ("true", "[]", ["routing-proxy"], "8200"),
        ("true", "[{name: i, image: b}]", ["routing-proxy", "i"], "8200"),
        ("false", "[]", None, "8000"),
        ("false", "[{name: i, image: b}]", ["i"], "8000"),
        ("null", "[]", None, "8200"),
        ("null", "[{name: i, image: b}]", ["routing-proxy", "i"], "8200"),
    ],
)
def test_proxy_gate(enabled: str, init: str, names: list[str] | None, port: str) -> None:
    spec = pod(objects(f"routing: {{proxy: {{enabled: {enabled}}}}}\ndecode: {{initContainers: {init}}}"))
    assert ([c["name"] for c in spec["initContainers"]] if "initContainers" in spec else None) == names
    assert spec["containers"][0]["args"][3] == port


@pytest.mark.parametrize(
    "user, port",
    [("routing: {proxy: {targetPort: 0}}", "0"), ("routing: {servicePort: null, proxy: {enabled: false}}", "")],
)
def test_vllm_port_has_no_default(user: str, port: str) -> None:
    assert pod(objects(user))["containers"][0]["args"][3] == port


MOUNT = ", mountModelVolume: true"


@pytest.mark.parametrize(
    "uri, extra, volume, mount, model_arg, hf_env",
    [
        ("hf://org/m", "", {"emptyDir": {"sizeLimit": "5Mi"}}, {"mountPath": "/model-cache"}, "org/m", [("HF_HOME", "/model-cache")]),
        ("hf://1234", "", {"emptyDir": {"sizeLimit": "5Mi"}}, {"mountPath": "/model-cache"}, 1234, [("HF_HOME", "/model-cache")]),
        ("hf://a://b", "", {"emptyDir": {"sizeLimit": "5Mi"}}, {"mountPath": "/model-cache"}, "b", [("HF_HOME", "/model-cache")]),
        ("hf://org/m", "size: ''", {"emptyDir": {"sizeLimit": 0}}, {"mountPath": "/model-cache"}, "org/m", [("HF_HOME", "/model-cache")]),
        ("pvc://models-pvc/deepseek/r1", "", {"persistentVolumeClaim": {"claimName": "models-pvc", "readOnly": True}}, {"mountPath": "/model-cache", "readOnly": True}, "/model-cache/deepseek/r1", []),
        ("pvc://claim", "readOnly: false", {"persistentVolumeClaim": {"claimName": "claim", "readOnly": False}}, {"mountPath": "/model-cache", "readOnly": False}, "/model-cache/claim", []),
        ("pvc://p/m", "readOnly: null", {"persistentVolumeClaim": {"claimName": "p", "readOnly": None}}, {"mountPath": "/model-cache", "readOnly": None}, "/model-cache/m", []),
        ("pvc+hf://my-claim/hub/cache/org/model", "", {"persistentVolumeClaim": {"claimName": "my-claim", "readOnly": True}}, {"mountPath": "/model-cache", "readOnly": True}, "org/model", [("HF_HUB_CACHE", "/model-cache/hub/cache")]),
        ("pvc+hf://claim/a/b/c/d/org/model", "mountPath: /data", {"persistentVolumeClaim": {"claimName": "claim", "readOnly": True}}, {"mountPath": "/data", "readOnly": True}, "org/model", [("HF_HUB_CACHE", "/model-cache/a/b/c/d")]),
        ("pvc+hf://c/org/model", "", {"persistentVolumeClaim": {"claimName": "c", "readOnly": True}}, {"mountPath": "/model-cache", "readOnly": True}, "org/model", [("HF_HUB_CACHE", "/model-cache/")]),
        ("pvcfoo://x/y", "", {"persistentVolumeClaim": {"claimName": "x", "readOnly": True}}, {"mountPath": "/model-cache", "readOnly": True}, "--port", []),
        ("s3://bucket/key", "", None, {"mountPath": "/model-cache"}, "--port", []),
        ("no-scheme", "", None, {"mountPath": "/model-cache"}, "--port", []),
    ],
)
def test_uri_schemes(uri: str, extra: str, volume: Any, mount: dict[str, Any], model_arg: Any, hf_env: list[tuple[str, str]]) -> None:
    spec = pod(objects(f"modelArtifacts: {{uri: '{uri}', {extra}}}\n{vllm(MOUNT)}"))
    volumes = [v for v in spec["volumes"] if v["name"] == "model-storage"]
    assert volumes == ([{"name": "model-storage", **volume}] if volume else [])
    container = spec["containers"][0]
    assert container["volumeMounts"] == [{"name": "model-storage", **mount}]
    assert container["args"][0] == model_arg
    assert [(e["name"], e["value"]) for e in container["env"] if e["name"].startswith("HF_")] == hf_env


def test_oci_volume_with_custom_command() -> None:
    spec = pod(objects(
        "modelArtifacts: {uri: 'oci://reg/img:tag'}\nprefill: {create: false}\n"
        "decode: {containers: [{name: v, image: i, command: [run], mountModelVolume: true}]}"
    ))
    assert spec["volumes"][-1] == {"name": "model-storage", "image": {"reference": "reg/img:tag", "pullPolicy": "Always"}}
    assert spec["containers"][0]["volumeMounts"] == [{"name": "model-storage", "mountPath": "/model-cache", "readOnly": True}]


def test_mount_model_volume_false_keeps_the_model_arg() -> None:
    spec = pod(objects("decode: {volumes: null, containers: [{name: v, image: i, modelCommand: vllmServe, mountModelVolume: false}]}"))
    assert spec["volumes"] is None
    assert "volumeMounts" not in spec["containers"][0]
    assert spec["containers"][0]["args"][0] == "random/model"
    assert [e["name"] for e in spec["containers"][0]["env"]] == ["DP_SIZE", "TP_SIZE", "DP_SIZE_LOCAL"]


def test_hf_token_on_every_container_whatever_the_scheme() -> None:
    spec = pod(objects(
        "modelArtifacts: {authSecretName: hf-secret, uri: 's3://x'}\n"
        "decode: {containers: [{name: a, image: i, command: [x]}, {name: b, image: j, command: [y]}]}"
    ))
    token = {"name": "HF_TOKEN", "valueFrom": {"secretKeyRef": {"name": "hf-secret", "key": "HF_TOKEN"}}}
    assert [c["env"][-1] for c in spec["containers"]] == [token, token]


DRA_DECODE = (
    "prefill: {create: false}\n"
    "decode: {parallelism: {tensor: 2}, resourceClaims: [{name: imex, resourceClaimTemplateName: imex-tmpl}], "
    "containers: [{name: v, image: vllm, modelCommand: vllmServe, resources: {limits: {cpu: '4'}}}]}"
)


@pytest.mark.parametrize(
    "accelerator, claim, template, rct_name",
    [
        ("{dra: true}", "nvidia-decode-claim", "nvidia-claim-template-decode", "nvidia-claim-template-decode"),
        ("{dra: true, type: intel-i915}", "intel-decode-claim", "intel-claim-template-decode", "intel-claim-template-decode"),
        ("{dra: true, type: intel-xe}", "intel-decode-claim", "intel-claim-template-decode", "intel-claim-template-decode"),
        ("{dra: true, type: intel-gaudi}", "intel-gaudi-decode-claim", "intel-gaudi-claim-template-decode", "intel-gaudi-claim-template-decode"),
        ("{dra: true, resourceClaimTemplates: {nvidia: {name: h100}}}", "h100-decode-claim", "h100-decode", "h100-decode"),
        ("{dra: true, resourceClaimTemplates: {nvidia: {name: ''}}}", "nvidia-decode-claim", "nvidia-decode-claim-template", "-decode"),
        ("{dra: true, resourceClaimTemplates: {nvidia: {name: null, class: c}}}", "nvidia-decode-claim", "nvidia-decode-claim-template", "nvidia-decode-claim-template"),
        ("{dra: true, type: cpu}", "cpu-decode-claim", "cpu-decode-claim-template", None),
        ("{dra: true, type: rebellions-atom}", "rebellions-atom-decode-claim", "rebellions-atom-decode-claim-template", None),
    ],
)
def test_dra_claim_names(accelerator: str, claim: str, template: str, rct_name: str | None) -> None:
    objs = objects(f"accelerator: {accelerator}\n{DRA_DECODE}")
    spec = pod(objs)
    assert spec["resourceClaims"] == [
        {"name": claim, "resourceClaimTemplateName": template},
        {"name": "imex", "resourceClaimTemplateName": "imex-tmpl"},
    ]
    assert spec["containers"][0]["resources"] == {
        "limits": {"cpu": "4"}, "requests": {}, "claims": [{"name": claim}, {"name": "imex"}],
    }
    rcts = [o["metadata"]["name"] for o in objs if o["kind"] == "ResourceClaimTemplate"]
    assert rcts == ([rct_name] if rct_name else [])


def test_resource_claim_template_object() -> None:
    objs = objects(
        "accelerator: {dra: true, resourceClaimTemplates: {nvidia: {selectors: [{cel: {expression: x}}], match: firstAvailable}}}\n"
        + DRA_DECODE
    )
    rct = find(objs, "ResourceClaimTemplate")
    assert rct["metadata"]["labels"]["llm-d.ai/role"] == "decode"
    assert rct["spec"]["spec"]["devices"]["requests"] == [
        {"name": "nvidia", "firstAvailable": {"deviceClassName": "gpu.nvidia.com", "count": 2, "selectors": [{"cel": {"expression": "x"}}]}}
    ]


def test_dra_per_role_and_extra_claims_without_dra() -> None:
    objs = objects(
        "prefill: {accelerator: {dra: true}, replicas: 1}\n"
        "decode: {resourceClaims: [{name: imex, resourceClaimTemplateName: t}]}"
    )
    assert pod(objs)["resourceClaims"] == [{"name": "imex", "resourceClaimTemplateName": "t"}]
    assert pod(objs, "prefill")["resourceClaims"][0]["name"] == "nvidia-prefill-claim"
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "ResourceClaimTemplate"] == ["nvidia-claim-template-prefill"]


@pytest.mark.parametrize(
    "resources, limits, requests, warning",
    [
        ("{limits: {nvidia.com/gpu: 2}}", {"nvidia.com/gpu": 2}, {"nvidia.com/gpu": "4"}, "nvidia.com/gpu is set to 2 but parallelism calculates 4. Using 2."),
        ("{requests: {nvidia.com/gpu: 2}}", {"nvidia.com/gpu": "4"}, {"nvidia.com/gpu": 2}, None),
        ("{limits: {nvidia.com/gpu: 4}, requests: {nvidia.com/gpu: 1}}", {"nvidia.com/gpu": 4}, {"nvidia.com/gpu": 1}, None),
        ("{limits: {nvidia.com/gpu: 0}}", {"nvidia.com/gpu": 0}, {"nvidia.com/gpu": "4"}, "nvidia.com/gpu is set to 0 but parallelism calculates 4. Using 0."),
        ("{limits: {cpu: 8}}", {"cpu": 8, "nvidia.com/gpu": "4"}, {"nvidia.com/gpu": "4"}, None),
    ],
)
def test_device_plugin_resources_and_warning(resources: str, limits: Any, requests: Any, warning: str | None) -> None:
    objs = objects(f"decode: {{parallelism: {{tensor: 4}}, containers: [{{name: v, image: vllm, modelCommand: vllmServe, resources: {resources}}}]}}")
    container = pod(objs)["containers"][0]
    assert (container["resources"]["limits"], container["resources"]["requests"]) == (limits, requests)
    annotations = find(objs, "Deployment", "rel-llm-d-modelservice-decode")["metadata"].get("annotations")
    assert annotations == ({"llm-d.ai/accelerator-warning": f"Accelerator mismatch: {warning}"} if warning else None)


@pytest.mark.parametrize(
    "user, limits, warning",
    [
        ("decode: {accelerator: {type: intel-gaudi}, parallelism: {tensor: 4}, containers: [{name: v, image: i, command: [x], resources: {limits: {habana.ai/gaudi: 2}}}]}", {"habana.ai/gaudi": 2}, False),
        ("decode: {accelerator: {type: intel-gaudi}, parallelism: {tensor: 4}, containers: [{name: v, image: i, command: [x], resources: {limits: {nvidia.com/gpu: 2}}}]}", {"habana.ai/gaudi": "4", "nvidia.com/gpu": 2}, True),
        ("accelerator: {type: cpu}\ndecode: {parallelism: {tensor: 4}, containers: [{name: v, image: i, command: [x]}]}", {}, False),
        (f"decode: {{parallelism: {{tensor: 4}}, containers: [{{name: v, image: '{SIM}', command: [x]}}]}}", {}, False),
        ("accelerator: {type: intel}\ndecode: {containers: [{name: v, image: i, command: [x]}]}", {"nvidia.com/gpu": "1"}, False),
        ("accelerator: {type: weird}\ndecode: {containers: [{name: v, image: i, command: [x]}]}", {"nvidia.com/gpu": "1"}, False),
        ("accelerator: {type: amd, resources: {amd: ''}}\ndecode: {containers: [{name: v, image: i, command: [x]}]}", {}, False),
    ],
)
def test_accelerator_types(user: str, limits: dict[str, Any], warning: bool) -> None:
    objs = objects(user)
    assert pod(objs)["containers"][0]["resources"]["limits"] == limits
    annotations = find(objs, "Deployment", "rel-llm-d-modelservice-decode")["metadata"].get("annotations") or {}
    assert ("llm-d.ai/accelerator-warning" in annotations) == warning


def test_accelerator_env_and_sidecars_get_everything() -> None:
    spec = pod(objects(
        "accelerator: {type: intel-i915}\n"
        f"decode: {{containers: [{{name: a, image: '{SIM}', command: [x]}}, {{name: b, image: busybox, command: [y]}}]}}"
    ))
    sim, busybox = spec["containers"]
    assert [e["name"] for e in sim["env"]][3:] == ["VLLM_USE_V1", "TORCH_LLM_ALLREDUCE", "VLLM_WORKER_MULTIPROC_METHOD"]
    assert sim["env"][3]["value"] == "1" and sim["resources"]["limits"] == {}
    assert busybox["resources"]["limits"] == {"gpu.intel.com/i915": "1"}


def test_numbers_from_files_print_in_exponent_form() -> None:
    objs = objects("decode: {replicas: 1000000, terminationGracePeriodSeconds: 1234567, parallelism: {tensor: 1}}")
    deployment = find(objs, "Deployment", "rel-llm-d-modelservice-decode")
    assert deployment["spec"]["replicas"] == "1e+06"
    assert deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 1234567.0
    assert chart.replicas_text({"replicas": 999999}) == "999999"


def test_presence_rules() -> None:
    objs = objects("decode: {replicas: 0, enableServiceLinks: false, terminationGracePeriodSeconds: 0, hostIPC: true}")
    deployment = find(objs, "Deployment", "rel-llm-d-modelservice-decode")
    spec = deployment["spec"]["template"]["spec"]
    assert deployment["spec"]["replicas"] == 0
    assert (spec["enableServiceLinks"], spec["terminationGracePeriodSeconds"]) == (False, 0)
    assert "hostIPC" not in spec  # Deployments ignore hostIPC
    assert find(objects("decode: {replicas: null}"), "Deployment", "rel-llm-d-modelservice-decode")["spec"]["replicas"] == 1


def test_pod_block() -> None:
    spec = pod(objects(
        "schedulerName: top\n"
        "decode: {priorityClassName: None, imagePullSecrets: [{name: s}], podSecurityContext: {runAsUser: 1},"
        " acceleratorTypes: {labelKey: nvidia.com/gpu.product, labelValues: [H100, A100]}, tolerations: [{key: k}],"
        " nodeSelector: {a: b}}\n"
        "prefill: {schedulerName: own, priorityClassName: high}"
    ))
    assert spec["schedulerName"] == "top" and "priorityClassName" not in spec
    assert spec["imagePullSecrets"] == [{"name": "s"}] and spec["securityContext"] == {"runAsUser": 1}
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"] == [
        {"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["H100", "A100"]}]}
    ]
    assert list(spec)[0] == "nodeSelector" and list(spec)[-1] == "tolerations"
    prefill = pod(objects("prefill: {schedulerName: own, priorityClassName: high, nodeSelector: {x: y}}"), "prefill")
    assert (prefill["schedulerName"], prefill["priorityClassName"]) == ("own", "high")
    assert list(prefill).index("nodeSelector") == list(prefill).index("containers") - 1


def test_empty_containers_remove_key_volume_and_warning() -> None:
    deployment = find(objects("decode: {containers: []}"), "Deployment", "rel-llm-d-modelservice-decode")
    spec = deployment["spec"]["template"]["spec"]
    assert "containers" not in spec and spec["volumes"] == [{"emptyDir": {}, "name": "metrics-volume"}]
    assert spec["serviceAccountName"] == "rel-llm-d-modelservice"


def test_labels_and_duplicate_keys_last_wins() -> None:
    objs = objects(
        "modelArtifacts: {labels: {foo: 1, llm-d.ai/role: mine}}\n"
        "decode: {nodeSelector: {x: y}, extraConfig: {serviceAccountName: mine, nodeSelector: {a: b}}}"
    )
    deployment = find(objs, "Deployment", "rel-llm-d-modelservice-decode")
    assert deployment["spec"]["selector"]["matchLabels"] == {"foo": 1, "llm-d.ai/inference-serving": "true", "llm-d.ai/role": "decode"}
    spec = deployment["spec"]["template"]["spec"]
    assert (spec["serviceAccountName"], spec["nodeSelector"]) == ("rel-llm-d-modelservice", {"a": "b"})


def test_service_account_override() -> None:
    objs = objects("serviceAccountOverride: sa\ndecode: {create: false}\nprefill: {create: false}")
    assert [o["kind"] for o in objs] == []
    objs = objects("decode: {create: false}\nprefill: {create: false}")
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [("ServiceAccount", "rel-llm-d-modelservice")]
    assert pod(objects("serviceAccountOverride: sa"))["serviceAccountName"] == "sa"


def test_leaderworkerset_layout() -> None:
    objs = objects(
        "multinode: true\nprefill: {create: false}\n"
        "modelArtifacts: {uri: 'pvc://models-pvc/deepseek/r1'}\n"
        "decode: {autoscaling: {enabled: true}, hostIPC: false, subGroupExclusiveTopology: true, subGroupPolicy: {subGroupSize: 2},"
        " podAnnotations: {p: q}, annotations: {a: b}, nodeSelector: {n: m},"
        " parallelism: {tensor: 1, data: 16, dataLocal: 8, workers: 2},"
        " containers: [{name: vllm, image: vllm, modelCommand: vllmServe, mountModelVolume: true, resources: {limits: {nvidia.com/gpu: 4}}}]}"
    )
    lws = find(objs, "LeaderWorkerSet")
    subgroup = "leaderworkerset.sigs.k8s.io/subgroup-exclusive-topology"
    assert lws["metadata"]["annotations"] == {
        subgroup: "kubernetes.io/hostname", "a": "b",
        "llm-d.ai/accelerator-warning": "Accelerator mismatch: nvidia.com/gpu is set to 4 but parallelism calculates 8. Using 4.",
    }
    assert lws["metadata"]["labels"]["llm-d.ai/role"] == "decode"
    assert "replicas" not in lws["spec"]
    template = lws["spec"]["leaderWorkerTemplate"]
    assert (template["size"], template["subGroupPolicy"]) == (2, {"subGroupSize": 2})
    assert template["workerTemplate"]["metadata"]["annotations"] == {subgroup: "kubernetes.io/hostname", "p": "q"}
    spec = template["workerTemplate"]["spec"]
    keys = list(spec)
    assert keys[0] == "hostIPC" and spec["hostIPC"] is False and keys[-1] == "nodeSelector"
    container = spec["containers"][0]
    assert container["args"] == ["/model-cache/deepseek/r1", "--port", "8200", "--data-parallel-size", "16", "--data-parallel-size-local", "8", "--served-model-name", "random/model"]
    assert container["resources"] == {"limits": {"nvidia.com/gpu": 4}, "requests": {"nvidia.com/gpu": "8"}}


def test_leaderworkerset_refuses_nulled_autoscaling() -> None:
    with pytest.raises(ChartRefusal, match="nil pointer evaluating interface {}.enabled"):
        objects("multinode: true\ndecode: {autoscaling: null}")


def test_tracing() -> None:
    spec = pod(objects(
        "tracing: {enabled: true, sampling: {samplerArg: 0.5}}\n"
        "decode: {containers: [{name: v, image: vllm, modelCommand: vllmServe, args: [--x]}, {name: c, image: b, command: [x]}]}"
    ))
    otel = ["OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"]
    assert [(e["name"], e["value"]) for e in spec["initContainers"][0]["env"]][::4] == [(otel[0], "routing-proxy"), (otel[4], "0.5")]
    vllm_container, custom = spec["containers"]
    assert vllm_container["args"][5:] == ["--otlp-traces-endpoint", "http://otel-collector:4317", "--collect-detailed-traces", "all", "--x"]
    assert [e["name"] for e in vllm_container["env"][-5:]] == otel and vllm_container["env"][-5]["value"] == "vllm-decode"
    assert "args" not in custom and [e["name"] for e in custom["env"][-5:]] == otel


def test_templates_in_values_keep_helm_types() -> None:
    container = pod(objects(
        "decode:\n  containers:\n  - name: v\n    image: vllm\n    modelCommand: vllmServe\n    env:\n"
        "    - {name: A, value: '{{ .Values.decode.replicas }}'}\n"
        "    - {name: B, value: 'pre-{{ .Release.Name }}'}\n"
        "    - {name: C, value: '{{ .role }}-{{ .container.name }}-{{ .parallelism.tensor }}'}\n"
        "    - {name: D, value: '{{ include \"llm-d-modelservice.fullname\" . }}'}\n"
        "    - {name: E, value: '{{ .Values.nope }}'}\n"
        "    - {name: F, value: 3}\n"
        "    - {name: G, value: '{{- .Release.Namespace -}}'}\n"
        "    ports: [{containerPort: '{{ .Values.routing.proxy.targetPort }}'}]\n"
    ))["containers"][0]
    assert [e["value"] for e in container["env"][:7]] == ["1", "pre-rel", "decode-v-1", "rel-llm-d-modelservice", "", 3, "ns"]
    assert container["ports"] == [{"containerPort": "8200"}]


def test_templated_hf_uri_and_plain_retyping() -> None:
    args = pod(objects(
        "modelArtifacts: {name: a/b, uri: 'hf://{{ .Values.modelArtifacts.name }}-{{ .role }}-{{ .Release.Name }}'}\n" + vllm()
    ))["containers"][0]["args"]
    assert args[0] == "a/b-decode-rel" and args[4] == "a/b"
    env = pod(objects("decode: {extraConfig: {dnsPolicy: 'x{{ .role }}', priority: 'x{{ 1 }}'}}"))
    assert env["dnsPolicy"] == "xdecode"


@pytest.mark.parametrize(
    "user, message",
    [
        ("modelArtifacts: {name: \"it's\"}\n" + vllm(", env: [{name: X, value: '{{ .Values.modelArtifacts.name }}'}]"), "YAML parse error"),
        (vllm(", env: [{name: X, value: '{{ .Values.nope.deeper }}'}]"), "nil pointer evaluating interface {}.deeper"),
        (vllm(", env: [{name: X, value: '{{ .Capabilities.KubeVersion.Version }}'}]"), "nil pointer evaluating interface {}.KubeVersion"),
        (vllm(", env: [{name: X, value: '{{ if .x }}y{{ end }}'}]"), "not supported"),
        (vllm(", env: [{name: X, value: '{{ lookup \"v1\" \"Pod\" \"\" \"\" }}'}]"), "not supported"),
        ("modelArtifacts: {authSecretName: '{{ .Release.Name }}-tok'}", "YAML parse error"),
    ],
)
def test_template_refusals(user: str, message: str) -> None:
    with pytest.raises(ChartRefusal, match=re.escape(message)):
        objects(user)


def test_extra_objects_render_with_the_root_context_and_sort_by_kind() -> None:
    objs = objects(
        "extraObjects:\n"
        "- {apiVersion: v1, kind: ConfigMap, metadata: {name: '{{ .Release.Name }}-cm', namespace: '{{ .Release.Namespace }}'},"
        " data: {z: '1', a: '{{ .Capabilities.KubeVersion.Version }}'}}\n"
        "- {apiVersion: v1, kind: ServiceAccount, metadata: {name: extra-sa}}\n"
        "- {apiVersion: x/v1, kind: AAA, metadata: {name: a}}\n",
        namespace="myns",
    )
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ServiceAccount", "extra-sa"), ("ServiceAccount", "rel-llm-d-modelservice"), ("ConfigMap", "rel-cm"),
        ("Deployment", "rel-llm-d-modelservice-decode"), ("Deployment", "rel-llm-d-modelservice-prefill"), ("AAA", "a"),
    ]
    assert find(objs, "ConfigMap")["data"] == {"a": "v1.32.0", "z": "1"}
    assert find(objs, "ConfigMap")["metadata"]["namespace"] == "myns"


def test_podmonitor() -> None:
    objs = objects(
        "decode: {monitoring: {podmonitor: {enabled: true, labels: {release: prom, a: b}, annotations: {note: x},"
        " portName: '', relabelings: [{action: keep}], interval: null}}}",
        namespace="obs",
    )
    monitor = find(objs, "PodMonitor")
    assert monitor["metadata"]["name"] == "rel-llm-d-modelservice-decode-podmonitor"
    assert monitor["metadata"]["namespace"] == "obs"
    assert list(monitor["metadata"]["labels"])[3:] == ["app.kubernetes.io/component", "a", "release"]
    assert monitor["metadata"]["annotations"] == {"note": "x"}
    assert monitor["spec"]["podMetricsEndpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s", "relabelings": [{"action": "keep"}]}]
    assert [o["kind"] for o in objects("decode: {create: false, monitoring: {podmonitor: {enabled: true}}}")] == ["ServiceAccount", "Deployment"]


REQUESTER_PATCH = """metadata:
  labels: {"model-reg": "granite-3.3-2b",
    "model-repo": "ibm-granite",
    "app": null}
spec:
  initContainers:
  - name: routing-proxy
    args:
      - --port=8000
      - --vllm-port=8200
      - --connector=nixlv2
      - --zap-encoder=json
      - --zap-log-level=debug
      - --secure-proxy=false
    image: ghcr.io/llm-d/llm-d-routing-sidecar:latest
    imagePullPolicy: Always
    env:
    ports:
      - containerPort: 8000
    resources: {}
    restartPolicy: Always
    securityContext:
      allowPrivilegeEscalation: false
      runAsNonRoot: true
  - image: busybox
    name: init
  containers:
    - name: vllm
      image: vllm/vllm:latest
@6
      command: ["vllm", "serve"]
      args:
        - ibm-granite/granite-3.3-2b
        - --port
        - "8200"
        - --served-model-name
        - "ibm-granite/granite-3.3-2b"
@8
      env:
      - name: DP_SIZE
        value: "1"
      - name: TP_SIZE
        value: "1"
      - name: DP_SIZE_LOCAL
        value: "1"
@6
@6
      ports:
      - containerPort: 8200
      resources:
        limits:
          nvidia.com/gpu: "1"
        requests:
          nvidia.com/gpu: "1"
@6
"""

REQUESTER_VALUES = """
requester: {enable: true}
modelArtifacts: {name: ibm-granite/granite-3.3-2b, uri: hf://ibm-granite/granite-3.3-2b}
decode:
  replicas: 3
  initContainers: [{name: init, image: busybox}]
  containers: [{name: vllm, image: 'vllm/vllm:latest', modelCommand: vllmServe, ports: [{containerPort: 8200}]}]
"""


def test_requester_server_patch_exact_text() -> None:
    objs = objects(REQUESTER_VALUES)
    replicaset = find(objs, "ReplicaSet")
    annotations = replicaset["spec"]["template"]["metadata"]["annotations"]
    expected = re.sub(r"^@(\d+)$", lambda m: " " * int(m.group(1)), REQUESTER_PATCH, flags=re.M)
    assert annotations["dual-pod.llm-d.ai/server-patch"] == expected
    assert annotations["dual-pod.llm-d.ai/admin-port"] == "8081"
    assert replicaset["spec"]["replicas"] == 3 and "labels" not in replicaset["metadata"]
    assert [o["kind"] for o in objs] == ["ServiceAccount", "ReplicaSet", "Deployment"]


def test_requester_patch_variants() -> None:
    values = eff(REQUESTER_VALUES + "routing: {proxy: {enabled: false}}\nmodelArtifacts: {name: solo}\n")
    from migrate.chart.context import Release, RoleContext

    text = chart.server_patch_text(RoleContext(values, Release("rel", "ns"), "decode"))
    assert text.startswith('metadata:\n  labels: {"model-reg": "",\n    "model-repo": "solo",')
    assert "spec:\n  initContainers:\n  \n  - image: busybox\n" in text
    multinode = objects(REQUESTER_VALUES + "multinode: true")
    assert sorted(o["kind"] for o in multinode) == ["LeaderWorkerSet", "LeaderWorkerSet", "ServiceAccount"]


@pytest.mark.parametrize(
    "user, key, message",
    [
        ("decode: {containers: [{name: v, modelCommand: vllmServe}]}", "decode.containers[0].image", "image of container is required"),
        ("decode: {containers: [{name: v, image: ''}]}", "decode.containers[0].image", "image of container is required"),
        ("routing: {proxy: {image: ''}}", "routing.proxy.image", "routing.proxy.image must be specified"),
        ("decode: {containers: [{name: v, image: i}]}", "decode.containers[0].command", "a `command` is required"),
        ("decode: {containers: [{name: v, image: i, modelCommand: serve}]}", "decode.containers[0].modelCommand", "modelCommand is not as expected"),
        ("modelArtifacts: {uri: 'oci://r/i'}\nprefill: {create: false}\n" + vllm(), "modelArtifacts.uri", "arguments for oci:// not implemented"),
        ("modelArtifacts: {uri: 'oci://r/i'}", "modelArtifacts.uri", "arguments for oci:// not implemented"),
        ("decode: {parallelism: {data: 3, dataLocal: null, workers: 2}}", "decode.parallelism.data", "multiple of parallelism.workers"),
        ("prefill: {parallelism: {data: 3, dataLocal: null, workers: 2}}", "prefill.parallelism.data", "multiple of parallelism.workers"),
        ("modelArtifacts: {uri: 'pvc+hf://a/b'}", "modelArtifacts.uri", "slice index out of bounds"),
        ("modelArtifacts: {labels: {llm-d.ai/inference-serving: null}}", "modelArtifacts.labels", "YAML parse error"),
        ("multinode: true\nprefill: {autoscaling: null}", "prefill.autoscaling", "nil pointer"),
        ("decode: null", "decode", "nil pointer"),
    ],
)
def test_refusals(user: str, key: str, message: str) -> None:
    with pytest.raises(ChartRefusal) as caught:
        objects(user)
    assert caught.value.key == key
    assert message in str(caught.value) and "Helm refuses to render" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_refusals_only_when_the_proxy_is_emitted() -> None:
    objects("routing: {proxy: {image: '', enabled: false}}")
    objects("routing: {proxy: {image: ''}}\ndecode: {create: false}")


def test_render_does_not_change_its_input() -> None:
    values = eff(REQUESTER_VALUES)
    before = yaml.safe_dump(values)
    objects(REQUESTER_VALUES)
    render(values, "rel", "ns")
    assert yaml.safe_dump(values) == before


# Helm's toYaml, checked against go-yaml's output: (value, text after "x:")
TO_YAML_CASES = [
    ({'b': 1, 'a': [1, 'x'], 'c': {}}, '\n  a:\n  - 1\n  - x\n  b: 1\n  c: {}'),
    ('true', ' "true"'),
    ('y', ' "y"'),
    ('n', ' "n"'),
    ('1:20', ' "1:20"'),
    ('2001-12-14', ' "2001-12-14"'),
    ('0x1F', ' "0x1F"'),
    ('_9', ' _9'),
    ('._5', ' ._5'),
    ('.5', ' ".5"'),
    ('<<', ' <<'),
    ('=', ' ='),
    ('', ' ""'),
    (' lead', " ' lead'"),
    ('a: b', " 'a: b'"),
    ('- x', " '- x'"),
    ("it's", " it's"),
    ('a\nb\n', ' |\n  a\n  b'),
    ('a\n\n', ' |+\n  a\n'),
    ('\nx', ' |2-\n\n  x'),
    ('a\nb', ' |-\n  a\n  b'),
    ('tab\tx', ' "tab\\tx"'),
    ('é😀', ' "é\\U0001F600"'),
    ('\ufeff a', ' "\\uFEFF\\x20\\x61"'),
    ('a\u2028b', " 'a\u2028  b'"),
    ('a\x85b', ' a b'),
    (1000000, ' 1000000'),
    (1e+21, ' 1e+21'),
    (12345678901234567890, ' 12345678901234567000'),
    (9223372036854775808, ' 9223372036854776000'),
    (-9223372036854775809, ' -9.223372036854776e+18'),
    (1234567890123456789, ' 1234567890123456800'),
    (0.5, ' 0.5'),
    (2.0, ' 2'),
    (12345678.5, ' 1.23456785e+07'),
    (None, ' null'),
    (True, ' true'),
    ({'A': 1, 'a_': 2, 'aZ': 3, 'a9': 4, 'a10': 5}, '\n  A: 1\n  a_: 2\n  a9: 4\n  a10: 5\n  aZ: 3'),
    ({'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk': {'a': 1}}, '\n  ? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n  : a: 1'),
    ({'a\nb': [1]}, '\n  ? |-\n    a\n    b\n  : - 1'),
    ([[1, 2], []], '\n- - 1\n  - 2\n- []'),
    ('wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy zz', ' wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\n  zz'),
]


@pytest.mark.parametrize("value, text", TO_YAML_CASES)
def test_to_yaml_matches_go_yaml(value: Any, text: str) -> None:
    assert to_yaml({"x": value}) == "x:" + text


@pytest.mark.parametrize("value", [{"x": "a\x7fb"}, {"k\x85k": 1}])
def test_to_yaml_gives_nothing_where_helm_cannot_convert(value: Any) -> None:
    assert to_yaml(value) == ""


@pytest.mark.parametrize(
    "value, text",
    [(1000000, "1e+06"), (1234567, "1.234567e+06"), (999999, "999999"), (0.5, "0.5"), (2.0, "2"), (0.00001, "1e-05"), (None, ""), (True, "true"), ({"b": 1, "a": [1, None]}, "map[a:[1 <nil>] b:1]")],
)
def test_go_print(value: Any, text: str) -> None:
    assert go_print(value).replace("<no value>", "") == text


def test_null_map_keys_are_refused_like_helm() -> None:
    with pytest.raises(ChartRefusal, match="unsupported map key"):
        objects("modelArtifacts: {name: '?'}")


def test_parallelism_accepts_a_role_map_and_gives_w() -> None:
    role = eff("decode: {parallelism: {data: 8, dataLocal: 2, workers: null, tensor: 2}}")["decode"]
    par = chart.parallelism(role, "decode")
    assert (par.tp, par.dp, par.dpl, par.w, par.gpus) == (2, 8, 2, 4, 4)
    with pytest.raises(ChartRefusal, match="decode.parallelism.data"):
        _ = chart.parallelism({"data": 8, "dataLocal": 3}, "decode").w


def test_a_block_scalar_ending_a_document_keeps_its_line_break() -> None:
    objs = objects("multinode: true\nprefill: {create: false}\ndecode: {nodeSelector: {x: \"ends\\n\\n\", z: \"a\\nb\\n\"}}")
    assert pod(objs, kind="LeaderWorkerSet")["nodeSelector"] == {"x": "ends\n\n", "z": "a\nb\n"}


def test_kinds_helm_3_17_does_not_know_sort_alphabetically_after_the_known_ones() -> None:
    objs = objects(
        "decode: {create: false}\nprefill: {create: false}\nextraObjects:\n"
        "- {apiVersion: v1, kind: ValidatingWebhookConfiguration, metadata: {name: v}}\n"
        "- {apiVersion: v1, kind: APIService, metadata: {name: a}}\n"
        "- {apiVersion: v1, kind: MutatingWebhookConfiguration, metadata: {name: m}}\n"
        "- {apiVersion: v1, kind: Namespace, metadata: {name: n}}\n"
    )
    assert [o["kind"] for o in objs] == ["Namespace", "ServiceAccount", "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]


# Values real Helm refuses to render, with the part of Helm's message the refusal repeats.
HELM_REFUSES = [
    ("routing: {proxy: null}\ndecode: {initContainers: [{name: a, image: b}]}", "error calling hasKey: wrong type for value"),
    ("accelerator: {env: null}", "error calling hasKey: wrong type for value"),
    ("accelerator: {resources: null}\ndecode: {containers: [{image: vllm, modelCommand: imageDefault}]}", "got interface {}"),
    ("decode: {accelerator: x}", "error calling hasKey: wrong type for value; expected map[string]interface {}; got string"),
    ("accelerator: {dra: true, resourceClaimTemplates: [a]}", "error calling hasKey"),
    ("prefill: {containers: [{image: a, modelCommand: imageDefault, resources: {limits: 1.5}}]}", "got float64"),
    ("decode: {containers: [{image: a, command: [x], resources: [x]}]}", "can't evaluate field limits"),
    ("extraObjects: 5", "range can't iterate over 5"),
    ("extraObjects: 0", "range can't iterate over 0"),
    ("extraObjects: false", "range can't iterate over false"),
    ("extraObjects: ''", "range can't iterate over"),
    ("fullnameOverride: 12345", "wrong type for value; expected string; got float64"),
    ("nameOverride: 5", "wrong type for value; expected string; got float64"),
    ("fullnameOverride: true", "got bool"),
    ("fullnameOverride: " + "a" * 54 + "é-x", "invalid UTF-8"),
    ("nameOverride: " + "é" * 30, "invalid UTF-8"),
    ("decode: {priorityClassName: 5}", "expected string; got float64"),
    ("decode: {containers: [{image: 5, command: [x]}]}", "expected string; got float64"),
    ("decode: {containers: [{image: [a], command: [x]}]}", "expected string"),
    ("decode: {extraConfig: {hostname: 'h-{{ upper 5 }}'}}", "wrong type for value"),
    ("decode: {extraConfig: {hostname: 'h{{ lower .Values.nope }}'}}", "got interface {}"),
    ("decode: {extraConfig: {hostname: 'h{{ replace \"a\" \"b\" 123 }}'}}", "expected string"),
    ("decode: {extraConfig: {hostname: 'h-{{ nil }}'}}", "nil is not a command"),
    ("decode: {annotations: [a]}", "cannot unmarshal array into Go struct field .metadata.annotations"),
    ("decode: {annotations: {a: {b: 1}}}", "cannot unmarshal object into Go struct field .metadata.annotations of type string"),
    ("multinode: true\nprefill: {annotations: [a]}", "cannot unmarshal array"),
    ("decode: {monitoring: {podmonitor: {enabled: true, annotations: {a: [1]}}}}", "cannot unmarshal array"),
    ("extraObjects: [{kind: K, metadata: {name: n, annotations: x}}]", "cannot unmarshal string"),
    ("extraObjects: [{kind: [a]}]", "cannot unmarshal array into Go struct field .kind of type string"),
    ("extraObjects: [{kind: K, metadata: [a]}]", "cannot unmarshal array into Go struct field SimpleHead.metadata"),
    ("extraObjects: {a: x}", "cannot unmarshal string into Go value"),
    ("extraObjects: [{kind: ConfigMap, metadata: {name: cm}, data: {k: \"{{ indent 2 \\\"x\\ny\\\" }}\"}}]", "unterminated quoted string"),
]


@pytest.mark.parametrize("user, message", HELM_REFUSES)
def test_helm_refuses(user: str, message: str) -> None:
    with pytest.raises(ChartRefusal, match=re.escape(message)):
        objects(user)


@pytest.mark.parametrize(
    "user, resources",
    [
        (f"decode: {{containers: [{{image: '{SIM}', command: [x], resources: {{requests: 1.5}}}}]}}", {"limits": {}, "requests": 1.5}),
        ("accelerator: {dra: true}\ndecode: {containers: [{image: a, command: [x], resources: {requests: [a]}}]}",
         {"limits": {}, "requests": ["a"], "claims": [{"name": "nvidia-decode-claim"}]}),
    ],
)
def test_resources_of_any_type_are_copied_when_no_auto_fill_applies(user: str, resources: dict[str, Any]) -> None:
    assert pod(objects(user))["containers"][0]["resources"] == resources


def test_extra_objects_as_a_map_render_its_values_in_key_order() -> None:
    objs = objects("extraObjects: {b: {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-b}}, a: {apiVersion: v1, kind: ConfigMap, metadata: {name: cm-a}}}")
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"] == ["cm-a", "cm-b"]


@pytest.mark.parametrize("proxy", ["null", "true", "[]"])
def test_routing_proxy_is_only_read_by_decode(proxy: str) -> None:
    """The chart's ``or (eq .role "prefill") ...`` short-circuits: prefill alone renders."""
    assert pod(objects(f"decode: {{create: false}}\nrouting: {{proxy: {proxy}}}"), "prefill")["containers"]


def test_to_string_of_nil_is_nil_in_angle_brackets() -> None:
    user = "decode: {replicas: null, containers: [{image: a, command: [x], env: [{name: A, value: '{{ toString .Values.decode.replicas }}'}]}]}"
    assert pod(objects(user))["containers"][0]["env"][0]["value"] == "<nil>"


@pytest.mark.parametrize(
    "template, text",
    [
        ('{{ printf "%d" .Values.decode.replicas }}', "%!d(float64=1)"),
        ('{{ printf "%s" .Values.decode.replicas }}', "%!s(float64=1)"),
        ('{{ printf "%s" .Values.multinode }}', "%!s(bool=false)"),
        ('{{ printf "%q" .Values.decode.replicas }}', "%!q(float64=1)"),
        ('x{{ printf "%v" .Values.nope }}', "x<nil>"),
        ('x{{ printf "%s" .Values.nope }}', "x%!s(<nil>)"),
        ('x{{ printf "%s-%s" .role }}', "xdecode-%!s(MISSING)"),
        ('x{{ printf "%s" .role 5 }}', "xdecode%!(EXTRA int=5)"),
        ('{{ printf "%d-%s" .Release.Revision .role }}', "1-decode"),
    ],
)
def test_printf_copies_fmt_error_texts(template: str, text: str) -> None:
    user = f"decode: {{containers: [{{image: a, command: [x], env: [{{name: A, value: '{template}'}}]}}]}}"
    assert pod(objects(user))["containers"][0]["env"][0]["value"] == text


def test_chart_context_is_the_whole_chart_metadata() -> None:
    data = "{d: '{{ .Chart.Description }}', s: '{{ .Chart.Sources }}', k: '{{ .Chart.Keywords }}|{{ .Chart.Home }}|{{ .Chart.Deprecated }}|{{ .Chart.Type }}'}"
    cm = find(objects(f"extraObjects: [{{kind: ConfigMap, metadata: {{name: x}}, data: {data}}}]"), "ConfigMap")
    assert cm["data"] == {"d": "A Helm chart for ModelService in llm-d", "s": "[https://github.com/llm-d-incubation/llm-d-modelservice]", "k": "[]||false|application"}


@pytest.mark.parametrize(
    "command, values",
    [("modelCommand: imageDefault", ["", "true", "true"]), ("modelCommand: vllmServe", ["", "", ""]), ("command: [x]", ["", "", ""])],
)
def test_model_arg_is_set_for_image_default_from_the_command_on(command: str, values: list[str]) -> None:
    """The chart's ``merge . (dict "modelArg" true)`` changes the container's context."""
    user = (
        f"decode: {{containers: [{{image: a, {command}, extraConfig: {{workingDir: 'w{{{{ .modelArg }}}}'}}, "
        "env: [{name: A, value: '{{ .modelArg }}'}], ports: [{name: 'p{{ .modelArg }}', containerPort: 1}]}]}"
    )
    container = pod(objects(user))["containers"][0]
    assert [container["workingDir"], container["env"][0]["value"], container["ports"][0]["name"]] == ["w" + values[0], values[1], "p" + values[2]]


# --- the fast manifest parser ------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from strategies import chart_values  # noqa: E402

render_module = importlib.import_module("migrate.chart.render")  # the package's `render` is a function

_ODD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def test_a_plain_scalar_ending_in_a_tab_renders_as_helm_renders_it():
    """Helm renders `- ÓOá<tab>` (checked with helm template); libyaml and go-yaml read "ÓOá"."""
    user = {"modelArtifacts": {"name": "ÓOá\t", "uri": "hf://{{ .Values.modelArtifacts.name }}"}}
    effective = merge_defaults(load_helm(chart_defaults_path("v0.4.12").read_text()), user)
    decode = next(o for o in chart.render(effective, "rel", "default") if o["kind"] == "Deployment")
    assert decode["spec"]["template"]["spec"]["containers"][0]["args"][:2] == ["--model", "ÓOá"]


def _both_parsers(doc: str) -> tuple[Any, Any]:
    """What libyaml and PyYAML's own parser make of a document (an exception class when refused)."""
    out = []
    for loader in (yamlio._FastManifestLoader, yamlio.ManifestLoader):
        try:
            out.append(yaml.load(doc + "\n", Loader=loader))  # noqa: S506 - safe loaders
        except yaml.YAMLError as exc:
            out.append(type(exc))
    return out[0], out[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=chart_values(), odd=st.lists(_ODD_TEXT, min_size=3, max_size=3))
def test_fast_parser_reads_rendered_documents_as_pyyaml_does(values, odd):
    """Where both read a rendered document, they read the same data. libyaml also reads some
    documents PyYAML refuses (a plain scalar ending in a tab): so does go-yaml, which derives
    from it, and real Helm renders them; what libyaml refuses goes to PyYAML, which decides."""
    values = dict(values)
    values.setdefault("decode", {}).setdefault("extraConfig", {})["hostname"] = odd[0]
    values["modelArtifacts"] = {**values.get("modelArtifacts", {}), "name": odd[1]}
    values.setdefault("prefill", {}).setdefault("podAnnotations", {})["a"] = odd[2]
    effective = merge_defaults(load_helm(chart_defaults_path("v0.4.12").read_text()), values)
    for _, text in render_module.render_texts(effective, "rel", "ns"):
        for doc in render_module.split_documents(text):
            fast, exact = _both_parsers(doc)
            if not isinstance(fast, type) and not isinstance(exact, type):
                assert fast == exact, doc
