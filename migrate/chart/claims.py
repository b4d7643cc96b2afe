"""ResourceClaimTemplate objects for DRA (CHART-BEHAVIOUR §11)."""

from __future__ import annotations

import json
from typing import Any

from migrate.chart import accelerators, names
from migrate.chart.gotmpl import GoInt, default, field, go_print, has_key, nindent, truthy
from migrate.chart.goyaml import to_yaml
from migrate.chart.parallelism import parallelism


def claim_template_config(values: dict[str, Any], role: str) -> dict[str, Any]:
    """``accelerator.resourceClaimTemplates[T]`` for the role's type, after the chart's JSON
    round trip ({} when there is no entry)."""
    kind = accelerators.accelerator_type(values, role)
    table = field(values, "accelerator.resourceClaimTemplates")
    if has_key(table, kind, "accelerator.resourceClaimTemplates"):
        config = json.loads(json.dumps(table[kind]))
        return config if isinstance(config, dict) else {}
    return {}


def claim_template_object_name(values: dict[str, Any], role: str) -> str:
    """The RCT's metadata.name (may differ from what the pods reference, §11)."""
    config = claim_template_config(values, role)
    kind = accelerators.accelerator_type(values, role)
    if "name" in config:
        return f"{_printf_s(config['name'])}-{role}"
    return f"{kind}-{role}-claim-template"


def _printf_s(value: Any) -> str:
    """printf's %s of a value from JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "%!s(<nil>)"
    if isinstance(value, bool):
        return f"%!s(bool={'true' if value else 'false'})"
    if isinstance(value, (int, float)):
        return f"%!s(float64={go_print(float(value))})"
    return go_print(value)


def renders_claim_template(values: dict[str, Any], role: str) -> bool:
    if not truthy(field(values, f"{role}.create")):
        return False
    if not accelerators.dra_enabled(values, role):
        return False
    return truthy(claim_template_config(values, role))


def claim_template_text(values: dict[str, Any], role: str) -> str:
    config = claim_template_config(values, role)
    kind = accelerators.accelerator_type(values, role)
    if "count" in config:
        count: Any = config["count"]
    else:
        count = GoInt(parallelism(field(values, f"{role}.parallelism"), role).gpus)
    device_class = default(f"gpu.{kind}.com", config.get("class"))
    match = default("exactly", config.get("match"))
    text = (
        "apiVersion: resource.k8s.io/v1\nkind: ResourceClaimTemplate\nmetadata:\n"
        f"  name: {claim_template_object_name(values, role)}\n"
        "  labels:" + nindent(4, names.common_labels_text()) + "\n"
        f"    llm-d.ai/role: {role}\n"
        "spec:\n  spec:\n    devices:\n      requests:\n"
        f"      - name: {kind}\n"
        f"        {go_print(match)}:\n"
        f"          deviceClassName: {go_print(device_class)}\n"
        f"          count: {go_print(count)}"
    )
    selectors = config.get("selectors")
    if truthy(selectors):
        text += "\n          selectors:" + nindent(10, to_yaml(selectors))
    return text
