"""What the templates see: the root context, a role's context, and template rendering of
values (bitnami common's ``common.tplvalues.render``)."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from typing import Any

from migrate.chart import names
from migrate.chart.gotmpl import GoInt, field
from migrate.chart.goyaml import to_yaml
from migrate.chart.tpl import render_tpl
from migrate.resources import data_dir
from migrate.yamlio import load_shipped

KUBE_VERSION = "v1.32.0"


@dataclass(frozen=True)
class Release:
    name: str
    namespace: str

    def as_context(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "Namespace": self.namespace,
            "Service": "Helm",
            "IsInstall": True,
            "IsUpgrade": False,
            "Revision": GoInt(1),
        }


def chart_context() -> dict[str, Any]:
    """``.Chart``: the chart's whole Chart.yaml metadata (data: chart-facts.yaml)."""
    return copy.deepcopy(_chart_facts()["chartContext"])


@functools.lru_cache(maxsize=1)
def _chart_facts() -> dict[str, Any]:
    path = data_dir("mappings") / names.CHART_NAME / names.CHART_VERSION / "chart-facts.yaml"
    facts = load_shipped(path.read_text(encoding="utf-8"))
    return facts if isinstance(facts, dict) else {}


def root_context(values: dict[str, Any], release: Release) -> dict[str, Any]:
    """The root context ``$`` (extraObjects are rendered with it)."""
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    return {
        "Values": values,
        "Release": release.as_context(),
        "Chart": chart_context(),
        "Capabilities": {
            "KubeVersion": {
                "Version": KUBE_VERSION,
                "GitVersion": KUBE_VERSION,
                "Major": major,
                "Minor": minor,
            },
            "HelmVersion": {"Version": "v3.17.2"},
        },
        "Template": {
            "Name": f"{names.CHART_NAME}/templates/extra-objects.yaml",
            "BasePath": f"{names.CHART_NAME}/templates",
        },
    }


@dataclass(frozen=True)
class RoleContext:
    """Values, release and role: what the pod and container helpers receive."""

    values: dict[str, Any]
    release: Release
    role: str

    @property
    def spec(self) -> Any:
        return field(self.values, self.role)

    @property
    def parallelism_spec(self) -> Any:
        return field(self.values, f"{self.role}.parallelism")

    def pod_context(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "pdSpec": self.spec,
            "Values": self.values,
            "Release": self.release.as_context(),
            "Chart": chart_context(),
        }

    def container_context(self, container: Any) -> dict[str, Any]:
        context = self.pod_context()
        context["container"] = container
        context["parallelism"] = self.parallelism_spec
        return context


def render_value(value: Any, context: dict[str, Any], key: str) -> str:
    """``common.tplvalues.render``: strings as they are, other values in toYaml form; then
    evaluated as a template if any part contains ``{{``."""
    text = value if isinstance(value, str) else to_yaml(value)
    if "{{" in json.dumps(value, ensure_ascii=False, default=str):
        return render_tpl(text, context, key)
    return text
