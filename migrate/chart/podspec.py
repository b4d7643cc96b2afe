"""Pod-level text shared by the workloads: the routing proxy (§6), the init containers gate,
the pod block (§7) and the container list."""

from __future__ import annotations

from typing import Any

from migrate.chart import accelerators, artifacts, names
from migrate.chart.containers import container_text, otel_env_text, tracing_enabled
from migrate.chart.context import RoleContext, render_value
from migrate.chart.gotmpl import default, field, go_eq, go_print, go_string, has_key, nindent, required, truthy
from migrate.chart.goyaml import to_yaml

_PROXY_FLAGS = (
    ("zapDevel", "zap-devel"),
    ("zapEncoder", "zap-encoder"),
    ("zapLogLevel", "zap-log-level"),
    ("zapStacktraceLevel", "zap-stacktrace-level"),
    ("zapTimeEncoding", "zap-time-encoding"),
    ("secure", "secure-proxy"),
    ("prefillerUseTLS", "prefiller-use-tls"),
    ("certPath", "cert-path"),
)


def proxy_emitted(values: dict[str, Any]) -> bool:
    """Whether the routing proxy entry is written (enabled absent or not ``false``)."""
    proxy = field(values, "routing.proxy")
    if not has_key(proxy, "enabled", "routing.proxy"):
        return True
    return not go_eq(proxy["enabled"], False, "routing.proxy.enabled")


def init_containers_gate(values: dict[str, Any]) -> bool:
    """Whether the decode pod has an ``initContainers`` key at all."""
    if truthy(field(values, "decode.initContainers")):
        return True
    return go_eq(field(values, "routing.proxy.enabled"), True, "routing.proxy.enabled")


def proxy_args(values: dict[str, Any]) -> list[str]:
    """The routing proxy's args, ``--flag=value`` strings (§6)."""
    proxy = field(values, "routing.proxy")
    args = [
        f"--port={go_print(default(8000, field(values, 'routing.servicePort')))}",
        f"--vllm-port={go_print(default(8200, proxy.get('targetPort')))}",
        f"--connector={go_print(default('nixlv2', proxy.get('connector')))}",
    ]
    for key, flag in _PROXY_FLAGS:
        if key in proxy:
            args.append(f"--{flag}={go_print(proxy[key])}")
    return args


def routing_proxy_text(values: dict[str, Any]) -> str:
    """The routing proxy init container ("" when not emitted), item line at column 0."""
    if not proxy_emitted(values):
        return ""
    proxy = field(values, "routing.proxy")
    port = go_print(default(8000, field(values, "routing.servicePort")))
    lines = ["- name: routing-proxy", "  args:"]
    lines += [f"    - {arg}" for arg in proxy_args(values)]
    image = required(
        proxy.get("image"),
        "routing.proxy.image must be specified",
        key="routing.proxy.image",
        fix="set routing.proxy.image or disable the proxy with routing.proxy.enabled: false",
    )
    lines.append(f"  image: {go_print(image)}")
    lines.append(f"  imagePullPolicy: {go_print(default('Always', proxy.get('imagePullPolicy')))}")
    env = "  env:"
    if tracing_enabled(values):
        service = field(values, "tracing.serviceNames.routingProxy")
        env += otel_env_text(values, service).replace("\n", "\n    ")
    lines.append(env)
    lines += [
        "  ports:",
        f"    - containerPort: {port}",
        "  resources: {}",
        "  restartPolicy: Always",
        "  securityContext:",
        "    allowPrivilegeEscalation: false",
        "    runAsNonRoot: true",
    ]
    return "\n".join(lines)


def decode_init_containers_text(values: dict[str, Any], spaces: int) -> str:
    """``initContainers:`` content for decode pods, after the key; each part at ``spaces``."""
    text = nindent(spaces, routing_proxy_text(values))
    user = field(values, "decode.initContainers")
    if truthy(user):
        text += nindent(spaces, to_yaml(user))
    return text


def pod_block_text(rc: RoleContext) -> str:
    """The chart's ``modelPod`` helper text (keys at column 2)."""
    spec = rc.spec
    values = rc.values
    parts: list[str] = []
    if truthy(spec.get("extraConfig")):
        rendered = render_value(spec["extraConfig"], rc.pod_context(), f"{rc.role}.extraConfig")
        parts.append("\n    " + nindent(2, rendered))
    if truthy(spec.get("imagePullSecrets")):
        parts.append("\n  imagePullSecrets:" + nindent(2, to_yaml(spec["imagePullSecrets"])))
    scheduler = default(values.get("schedulerName"), spec.get("schedulerName"))
    if truthy(spec.get("schedulerName")) or truthy(values.get("schedulerName")):
        parts.append(f"\n  schedulerName: {go_print(scheduler)}")
    priority = spec.get("priorityClassName")
    if truthy(priority) and go_string(priority, f"{rc.role}.priorityClassName").lower() != "none":
        parts.append(f"\n  priorityClassName: {go_print(priority)}")
    if truthy(spec.get("podSecurityContext")):
        parts.append("\n  securityContext:" + nindent(4, to_yaml(spec["podSecurityContext"])))
    parts.append(f"\n  serviceAccountName: {names.service_account_name(values, rc.release.name)}")
    if truthy(spec.get("acceleratorTypes")):
        parts.append(nindent(2, _affinity_text(spec["acceleratorTypes"])))
    parts.append("\n  volumes:" + _volumes_text(rc))
    claims = accelerators.pod_claims(values, rc.role)
    claims_text = "resourceClaims:" + nindent(2, to_yaml(claims)) if claims else ""
    parts.append(nindent(2, claims_text))
    return "".join(parts)


def _affinity_text(types: Any) -> str:
    label_key = field(types, "labelKey", base="acceleratorTypes")
    if not truthy(label_key):
        return ""
    text = (
        "\naffinity:\n  nodeAffinity:\n    requiredDuringSchedulingIgnoredDuringExecution:\n"
        "      nodeSelectorTerms:\n        - matchExpressions:\n"
        f"          - key: {go_print(label_key)}\n            operator: In"
    )
    label_values = types.get("labelValues")
    if truthy(label_values):
        text += "\n            values:" + nindent(14, to_yaml(label_values))
    return text


def _volumes_text(rc: RoleContext) -> str:
    spec = rc.spec
    text = ""
    if truthy(spec.get("volumes")):
        text += nindent(4, to_yaml(spec["volumes"]))
    containers = spec.get("containers") or []
    if any(isinstance(c, dict) and truthy(c.get("mountModelVolume")) for c in containers):
        text += "\n  " + nindent(4, artifacts.model_volume_text(rc.values))
    return text


def containers_text(rc: RoleContext, spaces: int) -> str:
    """Every container of the role, each indented by ``spaces`` (after a newline)."""
    containers = field(rc.values, f"{rc.role}.containers")
    if not truthy(containers):
        return ""
    return "".join(
        nindent(spaces, container_text(rc, container, index))
        for index, container in enumerate(containers)
    )
