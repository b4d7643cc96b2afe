"""Render the chart: template files as text, then Helm's split, parse and kind ordering."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import yaml

from migrate.chart import claims, monitoring, names, workloads
from migrate.chart.context import Release, RoleContext
from migrate.chart.extra import extra_objects_text
from migrate.chart.gotmpl import NO_VALUE, field, truthy
from migrate.errors import ChartRefusal
from migrate.yamlio import load_rendered

# Helm 3.17's install order; kinds not listed come after these, alphabetically.
INSTALL_ORDER = (
    "PriorityClass Namespace NetworkPolicy ResourceQuota LimitRange PodSecurityPolicy "
    "PodDisruptionBudget ServiceAccount Secret SecretList ConfigMap StorageClass "
    "PersistentVolume PersistentVolumeClaim CustomResourceDefinition ClusterRole "
    "ClusterRoleList ClusterRoleBinding ClusterRoleBindingList Role RoleList RoleBinding "
    "RoleBindingList Service DaemonSet Pod ReplicationController ReplicaSet Deployment "
    "HorizontalPodAutoscaler StatefulSet Job CronJob IngressClass Ingress APIService"
).split()
_DOC_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
_GO_SPACE = " \t\n\r\x0b\x0c\x85\xa0"


def _decode_deployment(values: dict[str, Any], release: Release) -> str:
    if truthy(field(values, "requester.enable")) or not truthy(field(values, "decode.create")):
        return ""
    if truthy(field(values, "multinode")):
        return ""
    return workloads.deployment_text(RoleContext(values, release, "decode"))


def _lws(role: str) -> Callable[[dict[str, Any], Release], str]:
    def text(values: dict[str, Any], release: Release) -> str:
        if truthy(field(values, f"{role}.create")) and truthy(field(values, "multinode")):
            return workloads.lws_text(RoleContext(values, release, role))
        return ""

    return text


def _podmonitor(role: str) -> Callable[[dict[str, Any], Release], str]:
    def text(values: dict[str, Any], release: Release) -> str:
        if monitoring.renders_podmonitor(values, role):
            return monitoring.podmonitor_text(values, release.name, release.namespace, role)
        return ""

    return text


def _requester(values: dict[str, Any], release: Release) -> str:
    if not truthy(field(values, "requester.enable")):
        return ""
    if not truthy(field(values, "decode.create")) or truthy(field(values, "multinode")):
        return ""
    return workloads.replicaset_text(RoleContext(values, release, "decode"))


def _prefill_deployment(values: dict[str, Any], release: Release) -> str:
    if truthy(field(values, "prefill.create")) and not truthy(field(values, "multinode")):
        return workloads.deployment_text(RoleContext(values, release, "prefill"))
    return ""


def _claim_templates(values: dict[str, Any], release: Release) -> str:
    return "".join(
        "\n---\n" + claims.claim_template_text(values, role)
        for role in ("decode", "prefill")
        if claims.renders_claim_template(values, role)
    )


def _service_account(values: dict[str, Any], release: Release) -> str:
    if not names.renders_service_account(values):
        return ""
    return (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n"
        f"  name: {names.service_account_name(values, release.name)}\n"
        "  labels:\n" + "\n".join("    " + line for line in names.common_labels_text().split("\n"))
    )


TEMPLATE_FILES: tuple[tuple[str, Callable[[dict[str, Any], Release], str]], ...] = (
    ("decode-deployment.yaml", _decode_deployment),
    ("decode-lws.yaml", _lws("decode")),
    ("decode-podmonitor.yaml", _podmonitor("decode")),
    ("decode-requester-replicaset.yaml", _requester),
    ("extra-objects.yaml", extra_objects_text),
    ("prefill-deployment.yaml", _prefill_deployment),
    ("prefill-lws.yaml", _lws("prefill")),
    ("prefill-podmonitor.yaml", _podmonitor("prefill")),
    ("resource-claim-template.yaml", _claim_templates),
    ("serviceaccount.yaml", _service_account),
)


def render_texts(values: dict[str, Any], release: str, namespace: str) -> list[tuple[str, str]]:
    """(template file, rendered text) for every template, in file order."""
    rel = Release(release, namespace)
    return [(name, build(values, rel).replace(NO_VALUE, "")) for name, build in TEMPLATE_FILES]


def split_documents(text: str) -> list[str]:
    """Helm's SplitManifests: split on ``---`` lines, trim each document, drop empty ones."""
    docs = _DOC_SEPARATOR.split(text.strip(_GO_SPACE))
    return [doc.strip(_GO_SPACE) for doc in docs if doc.strip(_GO_SPACE)]


def _parse(doc: str, template: str) -> Any:
    """Parse one document as it appears in Helm's output, which ends it with a newline (so a
    block scalar at the very end keeps its line break). libyaml parses; a document it refuses
    is parsed again by PyYAML's own parser, which has the last word and the message."""
    try:
        return load_rendered(doc + "\n")
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        raise ChartRefusal(
            f"YAML parse error on {names.CHART_NAME}/templates/{template}: "
            f"{' '.join(str(problem).split())} (Helm refuses to render); a value breaks the "
            "chart's YAML (empty labels, a template value with a quote, or a raw template)"
        ) from None


def _has_null_key(obj: Any) -> bool:
    """Whether a map in the document has a null key, which Helm cannot convert to JSON."""
    if isinstance(obj, dict):
        return None in obj or any(_has_null_key(v) for v in obj.values())
    if isinstance(obj, list):
        return any(_has_null_key(v) for v in obj)
    return False


def _check_convertible(obj: Any, template: str) -> None:
    if _has_null_key(obj):
        raise ChartRefusal(
            f"YAML parse error on {names.CHART_NAME}/templates/{template}: error converting "
            "YAML to JSON: unsupported map key of type nil (Helm refuses to render); a value "
            "written unquoted by the chart (such as a model name '?') reads as an empty key"
        )


_HEAD_FIELDS = (("apiVersion",), ("kind",), ("metadata", "name"))


def _head_problem(obj: Any) -> str | None:
    """What Helm's SimpleHead (apiVersion, kind, metadata.name, metadata.annotations as
    map[string]string) cannot hold: scalars convert to strings, collections do not."""
    if not isinstance(obj, dict):
        return f"cannot unmarshal {_json_kind(obj)} into Go value of type util.SimpleHead"
    metadata = obj.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return f"cannot unmarshal {_json_kind(metadata)} into Go struct field SimpleHead.metadata"
    for path in _HEAD_FIELDS:
        value = metadata.get(path[1]) if path[0] == "metadata" and metadata else obj.get(path[0])
        if isinstance(value, (dict, list)):
            return f"cannot unmarshal {_json_kind(value)} into Go struct field .{'.'.join(path)} of type string"
    annotations = metadata.get("annotations") if metadata else None
    if annotations is not None and not isinstance(annotations, dict):
        return f"cannot unmarshal {_json_kind(annotations)} into Go struct field .metadata.annotations of type map[string]string"
    for value in (annotations or {}).values():
        if isinstance(value, (dict, list)):
            return f"cannot unmarshal {_json_kind(value)} into Go struct field .metadata.annotations of type string"
    return None


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, (int, float)) else "string"


def _check_head(obj: Any, template: str) -> None:
    problem = _head_problem(obj)
    if problem:
        raise ChartRefusal(
            f"YAML parse error on {names.CHART_NAME}/templates/{template}: error unmarshaling "
            f"JSON: json: {problem} (Helm refuses to render); annotations must be a map of "
            "strings, and apiVersion, kind and metadata.name strings"
        )


def _kind_key(obj: Any) -> tuple[int, str]:
    kind = obj.get("kind") if isinstance(obj, dict) else None
    kind = kind if isinstance(kind, str) else ""
    if kind in INSTALL_ORDER:
        return (INSTALL_ORDER.index(kind), "")
    return (len(INSTALL_ORDER), kind)


def render(values: dict[str, Any], release: str, namespace: str) -> list[dict[str, Any]]:
    """The objects ``helm template`` renders for these effective values, as PyYAML parses
    them, in Helm's document order. Raises ChartRefusal where Helm refuses to render."""
    objects: list[Any] = []
    for template, text in render_texts(values, release, namespace):
        for doc in split_documents(text):
            parsed = _parse(doc, template)
            _check_convertible(parsed, template)
            if parsed is not None:
                _check_head(parsed, template)
                objects.append(parsed)
    return sorted(objects, key=_kind_key)
