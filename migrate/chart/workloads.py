"""Workload documents: Deployments (§5), LeaderWorkerSets (§14) and the requester ReplicaSet
(§13), as the chart's template text."""

from __future__ import annotations

from typing import Any

from migrate.chart import accelerators, names
from migrate.chart.context import RoleContext
from migrate.chart.gotmpl import NO_VALUE, field, go_print, has_key, nindent, quote, truthy
from migrate.chart.goyaml import to_yaml
from migrate.chart.parallelism import lws_size
from migrate.chart.podspec import (
    containers_text,
    decode_init_containers_text,
    init_containers_gate,
    pod_block_text,
)
from migrate.errors import ChartRefusal

SUBGROUP_ANNOTATION = "leaderworkerset.sigs.k8s.io/subgroup-exclusive-topology: kubernetes.io/hostname"
WARNING_KEY = "llm-d.ai/accelerator-warning"


def replicas_text(spec: dict[str, Any]) -> str:
    """``replicas``: the role's value if the key is present (printed as Go prints it), else 1."""
    return go_print(spec["replicas"]) if has_key(spec, "replicas") else "1"


def _role_spec(rc: RoleContext) -> dict[str, Any]:
    spec = rc.spec
    if not isinstance(spec, dict):
        raise ChartRefusal(f"{rc.role} must be a map (Helm refuses to render)", key=rc.role)
    return spec


def _deployment_annotations(spec: dict[str, Any], warning: str) -> str:
    if not (truthy(spec.get("annotations")) or warning):
        return ""
    text = "\n  annotations:"
    if truthy(spec.get("annotations")):
        text += nindent(4, to_yaml(spec["annotations"]))
    if warning:
        text += f"\n    {WARNING_KEY}: {quote(warning)}"
    return text


def _pod_metadata(rc: RoleContext, spec: dict[str, Any]) -> str:
    text = "    metadata:\n      labels:" + nindent(8, names.role_labels_text(rc.values, rc.role))
    if truthy(spec.get("podAnnotations")):
        text += "\n      annotations:" + nindent(8, to_yaml(spec["podAnnotations"]))
    return text


def deployment_text(rc: RoleContext) -> str:
    """The decode or prefill Deployment."""
    spec = _role_spec(rc)
    values = rc.values
    warning = accelerators.accelerator_warning(values, rc.role)
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
        f"  name: {names.resource_name(values, rc.release.name, rc.role)}\n"
        "  labels:" + nindent(4, names.common_labels_text())
    )
    text += _deployment_annotations(spec, warning)
    text += f"\nspec:\n  replicas: {replicas_text(spec)}"
    if truthy(spec.get("strategy")):
        text += "\n  strategy:" + nindent(4, to_yaml(spec["strategy"]))
    text += "\n  selector:\n    matchLabels:" + nindent(6, names.role_labels_text(values, rc.role))
    text += "\n  template:\n" + _pod_metadata(rc, spec) + "\n    spec:"
    node_selector = (
        "\n      nodeSelector:" + nindent(8, to_yaml(spec["nodeSelector"]))
        if truthy(spec.get("nodeSelector"))
        else ""
    )
    if rc.role == "decode":
        text += node_selector
        if init_containers_gate(values):
            text += "\n      initContainers:" + decode_init_containers_text(values, 8)
    elif truthy(spec.get("initContainers")):
        text += "\n      initContainers:" + nindent(8, to_yaml(spec["initContainers"]))
    text += _service_links_and_grace(spec, 6)
    text += nindent(4, pod_block_text(rc))
    if rc.role == "prefill":
        text += node_selector
    if truthy(field(values, f"{rc.role}.containers")):
        text += "\n      containers:" + containers_text(rc, 8)
    if truthy(spec.get("tolerations")):
        text += "\n      tolerations:" + nindent(8, to_yaml(spec["tolerations"]))
    return text


def _service_links_and_grace(spec: dict[str, Any], spaces: int) -> str:
    pad = " " * spaces
    text = ""
    for key in ("enableServiceLinks", "terminationGracePeriodSeconds"):
        if has_key(spec, key):
            text += f"\n{pad}{key}: {go_print(spec[key])}"
    return text


# --------------------------------------------------------------------------------------------
# LeaderWorkerSet


def _lws_annotations(spec: dict[str, Any], warning: str) -> str:
    subgroup = truthy(spec.get("subGroupExclusiveTopology"))
    if not (subgroup or truthy(spec.get("annotations")) or warning):
        return ""
    text = "\n  annotations:"
    if subgroup:
        text += f"\n    {SUBGROUP_ANNOTATION}"
    if truthy(spec.get("annotations")):
        text += "\n    " + nindent(4, to_yaml(spec["annotations"]))
    if warning:
        text += f"\n    {WARNING_KEY}: {quote(warning)}"
    return text


def _lws_pod_annotations(spec: dict[str, Any]) -> str:
    subgroup = truthy(spec.get("subGroupExclusiveTopology"))
    if not (subgroup or truthy(spec.get("podAnnotations"))):
        return ""
    text = "\n        annotations:"
    if subgroup:
        text += f"\n          {SUBGROUP_ANNOTATION}"
    if truthy(spec.get("podAnnotations")):
        text += "\n          " + nindent(10, to_yaml(spec["podAnnotations"]))
    return text


def lws_text(rc: RoleContext) -> str:
    """The decode or prefill LeaderWorkerSet (multinode)."""
    spec = _role_spec(rc)
    values = rc.values
    labels = names.role_labels_text(values, rc.role)
    warning = accelerators.accelerator_warning(values, rc.role)
    text = (
        "apiVersion: leaderworkerset.x-k8s.io/v1\nkind: LeaderWorkerSet\nmetadata:\n"
        f"  name: {names.resource_name(values, rc.release.name, rc.role)}\n"
        "  labels:" + nindent(4, names.common_labels_text()) + nindent(4, labels)
    )
    text += _lws_annotations(spec, warning)
    text += "\nspec:"
    if not truthy(field(values, f"{rc.role}.autoscaling.enabled")):
        text += f"\n  replicas: {replicas_text(spec)}"
    size = lws_size(field(values, f"{rc.role}.parallelism"), rc.role)
    text += f"\n  leaderWorkerTemplate:\n    size: {size}"
    if truthy(spec.get("subGroupPolicy")):
        text += "\n    subGroupPolicy:" + nindent(6, to_yaml(spec["subGroupPolicy"]))
    text += "\n    workerTemplate:\n      metadata:\n        labels:" + nindent(10, labels)
    text += _lws_pod_annotations(spec)
    text += "\n      spec:" + _lws_pod_spec(rc, spec)
    return text


def _lws_pod_spec(rc: RoleContext, spec: dict[str, Any]) -> str:
    values = rc.values
    text = ""
    for key in ("hostIPC", "hostPID"):
        if has_key(spec, key):
            text += f"\n        {key}: {go_print(spec[key])}"
    if rc.role == "decode":
        if init_containers_gate(values):
            text += "\n        initContainers:" + decode_init_containers_text(values, 8)
    elif truthy(spec.get("initContainers")):
        text += "\n        initContainers:" + nindent(8, to_yaml(spec["initContainers"]))
    text += _service_links_and_grace(spec, 8)
    text += nindent(6, pod_block_text(rc))
    if truthy(field(values, f"{rc.role}.containers")):
        text += "\n        containers:" + containers_text(rc, 8)
    if truthy(spec.get("nodeSelector")):
        text += "\n        nodeSelector:" + nindent(10, to_yaml(spec["nodeSelector"]))
    if truthy(spec.get("tolerations")):
        text += "\n        tolerations:" + nindent(10, to_yaml(spec["tolerations"]))
    return text


# --------------------------------------------------------------------------------------------
# Requester ReplicaSet


def model_repo_and_registry(values: dict[str, Any]) -> tuple[str, str]:
    """(REPO, REG) of the server-patch labels: the name's first and second ``/`` pieces."""
    name = field(values, "modelArtifacts.name")
    if not isinstance(name, str):
        raise ChartRefusal(
            "modelArtifacts.name must be a string in requester mode (Helm refuses to render: "
            "split expects a string); quote the model name",
            key="modelArtifacts.name",
        )
    parts = name.split("/")
    return parts[0], parts[1] if len(parts) > 1 else ""


def server_patch_text(rc: RoleContext) -> str:
    """The ``dual-pod.llm-d.ai/server-patch`` annotation value, exactly (§13.1)."""
    lines = _server_patch_template(rc).replace(NO_VALUE, "").split("\n")
    out = [lines[0]]
    for line in lines[1:]:
        out.append(line[10:] if line.startswith(" " * 10) else "")
    while len(out) > 1 and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _server_patch_template(rc: RoleContext) -> str:
    """The annotation as it sits in the manifest: every line indented by 10 spaces."""
    values = rc.values
    repo, registry = model_repo_and_registry(values)
    text = (
        "metadata:\n"
        f'            labels: {{"model-reg": {quote(registry)},\n'
        f'              "model-repo": {quote(repo)},\n'
        '              "app": null}\n'
        "          spec:"
    )
    if init_containers_gate(values):
        text += "\n            initContainers:" + decode_init_containers_text(values, 12)
    if truthy(field(values, "decode.containers")):
        text += "\n            containers:" + containers_text(rc, 14)
    return text


def replicaset_text(rc: RoleContext) -> str:
    """The requester ReplicaSet that replaces the decode Deployment."""
    spec = _role_spec(rc)
    values = rc.values
    requester = field(values, "requester")
    probes = field(values, "requester.port.probes")
    spi = field(values, "requester.port.spi")
    limits = field(values, "requester.resources.limits")
    readiness = field(values, "requester.readinessProbe")
    return (
        "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n"
        f"  name: {names.resource_name(values, rc.release.name, 'decode')}\n"
        f"spec:\n  replicas: {replicas_text(spec)}\n"
        "  selector:\n    matchLabels:\n      app: dp-app\n"
        "  template:\n    metadata:\n      labels:\n        app: dp-app\n"
        "      annotations:\n"
        f'        dual-pod.llm-d.ai/admin-port: "{go_print(requester.get("adminPort"))}"\n'
        "        dual-pod.llm-d.ai/server-patch: |\n"
        f"          {_server_patch_template(rc)}\n"
        "    spec:\n      containers:\n        - name: inference-server\n"
        f"          image: {go_print(requester.get('image'))}\n"
        "          imagePullPolicy: Always\n          command:\n          - /app/requester\n"
        "          env:\n          - name: PROBES_PORT\n"
        f"            value: {quote(probes)}\n"
        "          - name: SPI_PORT\n"
        f"            value: {quote(spi)}\n"
        "          ports:\n          - name: probes\n"
        f"            containerPort: {go_print(probes)}\n"
        "          - name: spi\n"
        f"            containerPort: {go_print(spi)}\n"
        "          readinessProbe:\n            httpGet:\n              path: /ready\n"
        f"              port: {go_print(probes)}\n"
        f"            initialDelaySeconds: {go_print(field(readiness, 'initialDelaySeconds'))}\n"
        f"            periodSeconds: {go_print(field(readiness, 'periodSeconds'))}\n"
        "          resources:\n            limits:\n"
        f"              nvidia.com/gpu: {go_print(field(limits, 'gpus'))}\n"
        f"              cpu: {go_print(field(limits, 'cpus'))}\n"
        f"              memory: {go_print(field(limits, 'memory'))}"
    )

