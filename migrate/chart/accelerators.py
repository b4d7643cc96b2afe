"""Accelerator type, device-plugin resource name, accelerator env, DRA and claim names
(CHART-BEHAVIOUR §9.2-§9.4, §11)."""

from __future__ import annotations

from typing import Any

from migrate.chart.gotmpl import field, go_print, go_string, has_key, quote, to_int, truthy
from migrate.chart.parallelism import parallelism

SIM_IMAGE = "llm-d-inference-sim"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else go_print(value)


def accelerator_type(values: dict[str, Any], role: str | None) -> str:
    """The accelerator type for a role (``None``: the global type, as the warning uses)."""
    if role is not None:
        own = field(values, f"{role}.accelerator")
        if truthy(own) and has_key(own, "type", f"{role}.accelerator"):
            return _text(own["type"])
    global_type = field(values, "accelerator.type")
    return _text(global_type) if truthy(global_type) else "nvidia"


def resource_name(values: dict[str, Any], role: str | None, container: Any) -> str:
    """Device-plugin resource a container asks for ("" for none)."""
    kind = accelerator_type(values, role)
    image = container.get("image") if isinstance(container, dict) else None
    where = f"{role}.containers[].image" if role else "containers[0].image"
    if truthy(container) and truthy(image) and SIM_IMAGE in go_string(image, where):
        return ""
    if kind == "cpu":
        return ""
    table = field(values, "accelerator.resources")
    if has_key(table, kind, "accelerator.resources"):
        return _text(table[kind])
    return "nvidia.com/gpu"


def accelerator_env_text(values: dict[str, Any], role: str) -> str:
    """The accelerator env entries as the chart writes them (each starting with a newline)."""
    kind = accelerator_type(values, role)
    table = field(values, "accelerator.env")
    if kind == "cpu" or not has_key(table, kind, "accelerator.env"):
        return ""
    out = []
    for item in table[kind] or []:
        name = field(item, "name", base=f"accelerator.env.{kind}[]")
        value = field(item, "value", base=f"accelerator.env.{kind}[]")
        out.append(f"\n- name: {go_print(name)}\n  value: {quote(value)}")
    return "".join(out)


def dra_enabled(values: dict[str, Any], role: str | None) -> bool:
    """Whether the role uses DRA claims instead of device-plugin resources."""
    if role is not None:
        own = field(values, f"{role}.accelerator")
        if truthy(own) and has_key(own, "dra", f"{role}.accelerator"):
            return truthy(own["dra"])
    return truthy(field(values, "accelerator.dra"))


def _claim_template_entry(values: dict[str, Any], kind: str) -> tuple[bool, Any]:
    table = field(values, "accelerator.resourceClaimTemplates")
    return (True, table[kind]) if has_key(table, kind, "accelerator.resourceClaimTemplates") else (False, None)


def claim_name(values: dict[str, Any], role: str) -> str:
    """The pod-level name of the role's DRA accelerator claim."""
    kind = accelerator_type(values, role)
    exists, entry = _claim_template_entry(values, kind)
    name = field(entry, "name") if exists else None
    if exists and truthy(name):
        text = _text(name)
        if text.endswith("-claim-template"):
            text = text[: -len("-claim-template")]
        return f"{text}-{role}-claim"
    return f"{kind}-{role}-claim"


def claim_template_name(values: dict[str, Any], role: str) -> str:
    """The ``resourceClaimTemplateName`` the role's pods reference."""
    kind = accelerator_type(values, role)
    exists, entry = _claim_template_entry(values, kind)
    name = field(entry, "name") if exists else None
    if exists and truthy(name):
        return f"{_text(name)}-{role}"
    return f"{kind}-{role}-claim-template"


def pod_claims(values: dict[str, Any], role: str) -> list[Any]:
    """The role's pod ``resourceClaims``: the DRA claim (if on), then the user's claims."""
    claims: list[Any] = []
    if dra_enabled(values, role):
        claims.append(
            {
                "name": claim_name(values, role),
                "resourceClaimTemplateName": claim_template_name(values, role),
            }
        )
    extra = field(values, f"{role}.resourceClaims")
    if truthy(extra):
        claims.extend(extra if isinstance(extra, list) else [extra])
    return claims


def accelerator_warning(values: dict[str, Any], role: str) -> str:
    """The accelerator-warning text for the role's workload ("" when none, §9.4)."""
    containers = field(values, f"{role}.containers")
    if not truthy(containers):
        return ""
    first = containers[0]
    gpus = parallelism(field(values, f"{role}.parallelism"), role).gpus
    resource = resource_name(values, None, first)
    if gpus < 1 or resource == "":
        return ""
    where = f"{role}.containers[0].resources"
    resources = first.get("resources") if isinstance(first, dict) else None
    limits = field(resources, "limits", base=where) if truthy(resources) else None
    if not (truthy(limits) and has_key(limits, resource, f"{where}.limits")):
        return ""
    user = to_int(limits[resource])
    if user == gpus:
        return ""
    return (
        f"Accelerator mismatch: {resource} is set to {user} but parallelism calculates "
        f"{gpus}. Using {user}."
    )
