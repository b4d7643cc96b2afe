"""One container of a decode/prefill pod, as template text (CHART-BEHAVIOUR §8, §12, §13.1).

The text is built exactly as the chart's ``container`` helper prints it, whitespace-only
lines included, with the item line at column 0. Workloads indent it; the requester's
server-patch annotation carries it verbatim.
"""

from __future__ import annotations

import copy
from typing import Any

from migrate.chart import accelerators, artifacts
from migrate.chart.context import RoleContext, render_value
from migrate.chart.gotmpl import default, field, go_eq, go_print, has_key, nindent, quote, required, truthy
from migrate.chart.goyaml import to_yaml
from migrate.chart.parallelism import Parallelism, parallelism
from migrate.chart.tpl import render_tpl
from migrate.errors import ChartRefusal

MODEL_COMMANDS = ("vllmServe", "imageDefault", "custom")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")


def container_text(rc: RoleContext, container: dict[str, Any], index: int) -> str:
    """The chart's text for ``<role>.containers[index]``."""
    key = f"{rc.role}.containers[{index}]"
    if not isinstance(container, dict):
        raise ChartRefusal("each container must be a map (Helm refuses to render)", key=key)
    context = rc.container_context(container)
    image = required(
        container.get("image"),
        "image of container is required",
        key=f"{key}.image",
        fix="set an image",
    )
    parts = [f"- name: {go_print(default('vllm', container.get('name')))}\n  image: {go_print(image)}"]
    if truthy(container.get("extraConfig")):
        rendered = render_value(container["extraConfig"], context, f"{key}.extraConfig")
        parts.append("\n    " + nindent(2, rendered))
    if truthy(container.get("securityContext")):
        parts.append("\n  securityContext:" + nindent(4, to_yaml(container["securityContext"])))
    if truthy(container.get("imagePullPolicy")):
        parts.append(f"\n  imagePullPolicy: {go_print(container['imagePullPolicy'])}")
    parts.append(nindent(2, command_text(rc, container, key, context)))
    parts.append("\n  env:")
    parts.append(_env_text(rc, container, context, key))
    if truthy(container.get("ports")):
        parts.append("\n  ports:" + nindent(2, render_value(container["ports"], context, f"{key}.ports")))
    for probe in _PROBES:
        if truthy(container.get(probe)):
            parts.append(f"\n  {probe}:" + nindent(4, to_yaml(container[probe])))
    parts.append(nindent(2, resources_text(rc, container, key)))
    parts.append(nindent(2, volume_mounts_text(rc.values, container)))
    for name in ("workingDir", "stdin", "tty"):
        if truthy(container.get(name)):
            parts.append(f"\n  {name}: {go_print(container[name])}")
    return "".join(parts)


def _env_text(rc: RoleContext, container: dict[str, Any], context: dict[str, Any], key: str) -> str:
    parts = []
    if truthy(container.get("env")):
        parts.append(nindent(2, render_value(container["env"], context, f"{key}.env")))
    parts.append(nindent(2, parallelism_env_text(role_parallelism(rc))))
    parts.append(nindent(2, artifacts.hf_env_text(rc.values, container)))
    accelerator_env = accelerators.accelerator_env_text(rc.values, rc.role)
    if accelerator_env:
        parts.append(nindent(2, accelerator_env))
    parts.append(nindent(2, tracing_env_text(rc.values, rc.role)))
    return "".join(parts)


def role_parallelism(rc: RoleContext) -> Parallelism:
    return parallelism(rc.parallelism_spec, rc.role)


# --------------------------------------------------------------------------------------------
# command and args


def model_command(container: dict[str, Any], key: str = "container") -> str:
    """The container's effective modelCommand; refuses values the chart does not know."""
    command = default("custom", container.get("modelCommand"))
    if not isinstance(command, str) or command not in MODEL_COMMANDS:
        raise ChartRefusal(
            ".container.modelCommand is not as expected. Valid values are `vllmServe`, "
            "`imageDefault` and `custom`. (Helm refuses to render); use one of them",
            key=f"{key}.modelCommand",
        )
    return command


def command_text(rc: RoleContext, container: dict[str, Any], key: str, context: dict[str, Any]) -> str:
    """The ``command``/``args`` text of a container, per modelCommand (§8.2). For
    imageDefault the chart's ``merge . (dict "modelArg" true)`` changes the container's
    context itself: templates rendered from here on see ``.modelArg`` true."""
    command = model_command(container, key)
    if command == "custom":
        return _custom_command_text(container, key)
    if command == "imageDefault":
        context.setdefault("modelArg", True)
    head = '\ncommand: ["vllm", "serve"]\nargs:' if command == "vllmServe" else "\nargs:"
    return head + _model_args_text(rc, context, model_flag=command == "imageDefault")


def _custom_command_text(container: dict[str, Any], key: str) -> str:
    if not truthy(container.get("command")):
        raise ChartRefusal(
            "When .container.modelCommand not set or `custom`, a `command` is required. "
            "(Helm refuses to render); set a command or modelCommand: vllmServe",
            key=f"{key}.command",
        )
    text = "\ncommand:" + nindent(2, to_yaml(container["command"]))
    if truthy(container.get("args")):
        text += "\nargs:" + nindent(2, to_yaml(container["args"]))
    return text


def _model_args_text(rc: RoleContext, context: dict[str, Any], model_flag: bool) -> str:
    values = rc.values
    container = context["container"]
    model_args = artifacts.model_arg_texts(values, _rendered_hf_rest(rc, context))
    text = ""
    for arg in model_args:
        text += ("\n  - --model" if model_flag else "") + f"\n  - {arg}"
    text += f"\n  - --port\n  - {quote(vllm_port_text(values, rc.role))}"
    par = role_parallelism(rc)
    for flag, number in (
        ("--tensor-parallel-size", par.tp),
        ("--data-parallel-size", par.dp),
        ("--data-parallel-size-local", par.dpl),
    ):
        if number > 1:
            text += f"\n  - {flag}\n  - {quote(number)}"
    name = field(values, "modelArtifacts.name")
    text += f"\n  - --served-model-name\n  - {quote(name)}"
    text += nindent(2, tracing_args_text(values))
    if truthy(container.get("args")):
        text += "\n  " + nindent(2, to_yaml(container["args"]))
    return text


def _rendered_hf_rest(rc: RoleContext, context: dict[str, Any]) -> str | None:
    scheme, rest = artifacts.split_uri(rc.values)
    if scheme != "hf" or "{{" not in rest:
        return None
    return render_tpl(rest, context, "modelArtifacts.uri")


def vllm_port_text(values: dict[str, Any], role: str) -> str:
    """The vLLM ``--port`` value (§8.4), before quoting."""
    if role == "prefill" or go_eq(field(values, "routing.proxy.enabled"), False, "routing.proxy.enabled"):
        return go_print(field(values, "routing.servicePort"))
    return go_print(field(values, "routing.proxy.targetPort"))


# --------------------------------------------------------------------------------------------
# env


def parallelism_env_text(par: Parallelism) -> str:
    return (
        f"- name: DP_SIZE\n  value: {quote(par.dp_text)}\n"
        f"- name: TP_SIZE\n  value: {quote(par.tp_text)}\n"
        f"- name: DP_SIZE_LOCAL\n  value: {quote(par.dpl_text)}"
    )


def tracing_enabled(values: dict[str, Any]) -> bool:
    tracing = values.get("tracing")
    return truthy(tracing) and truthy(field(values, "tracing.enabled"))


def otel_env_text(values: dict[str, Any], service_name: Any) -> str:
    """The five OTEL_* env entries (each starting with a newline)."""
    entries = (
        ("OTEL_SERVICE_NAME", quote(service_name)),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", quote(field(values, "tracing.otlpEndpoint"))),
        ("OTEL_TRACES_EXPORTER", '"otlp"'),
        ("OTEL_TRACES_SAMPLER", quote(field(values, "tracing.sampling.sampler"))),
        ("OTEL_TRACES_SAMPLER_ARG", quote(field(values, "tracing.sampling.samplerArg"))),
    )
    return "".join(f"\n- name: {name}\n  value: {value}" for name, value in entries)


def tracing_env_text(values: dict[str, Any], role: str) -> str:
    if not tracing_enabled(values):
        return ""
    service = "vllmDecode" if role == "decode" else "vllmPrefill"
    return otel_env_text(values, field(values, f"tracing.serviceNames.{service}"))


def tracing_args_text(values: dict[str, Any]) -> str:
    if not tracing_enabled(values):
        return ""
    endpoint = quote(field(values, "tracing.otlpEndpoint"))
    detail = quote(field(values, "tracing.vllm.collectDetailedTraces"))
    return (
        f"\n- --otlp-traces-endpoint\n- {endpoint}"
        f"\n- --collect-detailed-traces\n- {detail}"
    )


# --------------------------------------------------------------------------------------------
# resources and mounts


def container_resources(rc: RoleContext, container: dict[str, Any], key: str = "container") -> tuple[Any, Any]:
    """(limits, requests) after the chart's auto-fill (§9.3; none in DRA mode). The user's
    values are copied whatever their type; only the auto-fill needs maps."""
    resources = container.get("resources")
    limits = _user_resources(resources, "limits", f"{key}.resources")
    requests = _user_resources(resources, "requests", f"{key}.resources")
    if accelerators.dra_enabled(rc.values, rc.role):
        return limits, requests
    gpus = role_parallelism(rc).gpus
    name = accelerators.resource_name(rc.values, rc.role, container)
    if gpus >= 1 and name != "":
        limits = _auto_fill(limits, name, str(gpus), f"{key}.resources.limits")
        requests = _auto_fill(requests, name, str(gpus), f"{key}.resources.requests")
    return limits, requests


def _user_resources(resources: Any, name: str, where: str) -> Any:
    """``if and .resources .resources.<name>``: a deep copy of any truthy value, else {}."""
    if not truthy(resources):
        return {}
    value = field(resources, name, base=where)
    return copy.deepcopy(value) if truthy(value) else {}


def _auto_fill(table: Any, name: str, gpus: str, where: str) -> Any:
    """``if not (hasKey $t name)``: add the GPU count (hasKey needs a map)."""
    if has_key(table, name, where):
        return table
    return {**table, name: gpus}


def resources_text(rc: RoleContext, container: dict[str, Any], key: str) -> str:
    limits, requests = container_resources(rc, container, key)
    text = "resources:\n  limits:" + nindent(4, to_yaml(limits))
    text += "\n  requests:" + nindent(4, to_yaml(requests))
    claims = accelerators.pod_claims(rc.values, rc.role)
    if claims:
        names = [{"name": claim.get("name") if isinstance(claim, dict) else None} for claim in claims]
        text += "\n  claims:" + nindent(4, to_yaml(names))
    return text


def volume_mounts_text(values: dict[str, Any], container: dict[str, Any]) -> str:
    mounts = container.get("volumeMounts")
    model = truthy(container.get("mountModelVolume"))
    text = "\nvolumeMounts:" if truthy(mounts) or model else ""
    if truthy(mounts):
        text += nindent(2, to_yaml(mounts))
    if model:
        text += artifacts.model_mount_text(values)
    return text
