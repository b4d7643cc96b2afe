"""PodMonitor per role (CHART-BEHAVIOUR §16)."""

from __future__ import annotations

from typing import Any

from migrate.chart import names
from migrate.chart.gotmpl import default, field, go_print, nindent, quote, truthy
from migrate.chart.goyaml import to_yaml


def renders_podmonitor(values: dict[str, Any], role: str) -> bool:
    return truthy(field(values, f"{role}.create")) and truthy(
        field(values, f"{role}.monitoring.podmonitor.enabled")
    )


def podmonitor_text(values: dict[str, Any], release: str, namespace: str, role: str) -> str:
    monitor = field(values, f"{role}.monitoring.podmonitor")
    text = (
        "apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n"
        f"  name: {names.podmonitor_name(values, release, role)}\n"
        f"  namespace: {namespace}\n"
        "  labels:" + nindent(4, names.common_labels_text()) + "\n"
        f"    app.kubernetes.io/component: {role}"
    )
    if truthy(monitor.get("labels")):
        text += nindent(4, to_yaml(monitor["labels"]))
    if truthy(monitor.get("annotations")):
        text += "\n  annotations:" + nindent(4, to_yaml(monitor["annotations"]))
    text += (
        "\nspec:\n  selector:\n    matchLabels:" + nindent(6, names.role_labels_text(values, role))
        + "\n  podMetricsEndpoints:\n"
        f"  - port: {quote(default('metrics', monitor.get('portName')))}\n"
        f"    path: {go_print(default('/metrics', monitor.get('path')))}\n"
        f"    interval: {go_print(default('30s', monitor.get('interval')))}"
    )
    if truthy(monitor.get("scrapeTimeout")):
        text += f"\n    scrapeTimeout: {go_print(monitor['scrapeTimeout'])}"
    for key in ("relabelings", "metricRelabelings"):
        if truthy(monitor.get(key)):
            text += f"\n    {key}:" + nindent(6, to_yaml(monitor[key]))
    if truthy(monitor.get("namespaceSelector")):
        text += "\n  namespaceSelector:" + nindent(4, to_yaml(monitor["namespaceSelector"]))
    return text
