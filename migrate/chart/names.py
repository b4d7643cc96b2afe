"""Object names and labels (CHART-BEHAVIOUR §2, §3)."""

from __future__ import annotations

from typing import Any

from migrate.chart.gotmpl import field, go_print, go_string, sprig_trunc, truthy
from migrate.chart.goyaml import to_yaml
from migrate.errors import ChartRefusal

CHART_NAME = "llm-d-modelservice"
CHART_VERSION = "v0.4.12"
APP_VERSION = "v0.4.0"
CHART_LABEL = f"{CHART_NAME}-{CHART_VERSION}"
FULLNAME_LIMIT = 55


def _text(value: Any) -> str:
    return value if isinstance(value, str) else go_print(value)


def _trunc(text: str, limit: int) -> str:
    """Sprig's ``trunc`` counts bytes, not characters."""
    return sprig_trunc(limit, text)


def _trim_one_dash(text: str) -> str:
    return text[:-1] if text.endswith("-") else text


def _name_override(values: dict[str, Any]) -> str:
    """``default .Chart.Name .Values.nameOverride`` (used by trunc and contains: a string)."""
    name = values.get("nameOverride")
    return go_string(name, "nameOverride") if truthy(name) else CHART_NAME


def chart_short_name(values: dict[str, Any]) -> str:
    """The ``llm-d-modelservice.name`` helper: nameOverride or the chart name."""
    return _trim_one_dash(_trunc(_name_override(values), 63))


def fullname(values: dict[str, Any], release: str) -> str:
    """FULLNAME (§2.1): the base of every object name."""
    override = values.get("fullnameOverride")
    if truthy(override):
        return _trim_one_dash(_trunc(go_string(override, "fullnameOverride"), FULLNAME_LIMIT))
    name = _name_override(values)
    base = release if name in release else f"{release}-{name}"
    return _trim_one_dash(_trunc(base, FULLNAME_LIMIT))


def resource_name(values: dict[str, Any], release: str, role: str) -> str:
    """Name of the role's workload (Deployment, LeaderWorkerSet or ReplicaSet)."""
    return f"{fullname(values, release)}-{role}"


def podmonitor_name(values: dict[str, Any], release: str, role: str) -> str:
    return f"{resource_name(values, release, role)}-podmonitor"


def service_account_name(values: dict[str, Any], release: str) -> str:
    """serviceAccountName of every decode and prefill pod (§2.2)."""
    override = values.get("serviceAccountOverride")
    return _text(override) if truthy(override) else fullname(values, release)


def renders_service_account(values: dict[str, Any]) -> bool:
    return not truthy(values.get("serviceAccountOverride")) and (
        truthy(values.get("prefill")) or truthy(values.get("decode"))
    )


def common_labels_text() -> str:
    """The chart's common labels (CL), as template text."""
    return (
        f"helm.sh/chart: {CHART_LABEL}\n"
        f'app.kubernetes.io/version: "{APP_VERSION}"\n'
        "app.kubernetes.io/managed-by: Helm"
    )


def model_labels(values: dict[str, Any]) -> Any:
    labels = field(values, "modelArtifacts.labels")
    if not truthy(labels):
        raise ChartRefusal(
            "modelArtifacts.labels is empty, so the chart writes invalid YAML "
            "(Helm refuses to render: YAML parse error); keep at least one label",
            key="modelArtifacts.labels",
        )
    return labels


def role_labels_text(values: dict[str, Any], role: str) -> str:
    """ML(role): the model labels in toYaml form, then ``llm-d.ai/role``."""
    return f"{to_yaml(model_labels(values))}\nllm-d.ai/role: {role}"
