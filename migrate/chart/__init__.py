"""A model of what the Helm chart llm-d-modelservice v0.4.12 renders for given values.

``render(values, release, namespace)`` takes EFFECTIVE values (chart defaults merged) and
returns the objects exactly as PyYAML reads Helm's output. The small functions re-exported
here are the derived facts the migration's mapping table refers to.
"""

from migrate.chart.accelerators import (
    accelerator_type,
    accelerator_warning,
    claim_name,
    claim_template_name,
    dra_enabled,
    pod_claims,
)
from migrate.chart.accelerators import resource_name as accelerator_resource
from migrate.chart.artifacts import split_uri
from migrate.chart.claims import claim_template_object_name
from migrate.chart.containers import container_resources, model_command, vllm_port_text
from migrate.chart.names import (
    fullname,
    podmonitor_name,
    resource_name,
    service_account_name,
)
from migrate.chart.parallelism import Parallelism, lws_size, parallelism
from migrate.chart.podspec import init_containers_gate, proxy_args, proxy_emitted
from migrate.chart.render import render, render_texts
from migrate.chart.workloads import replicas_text, server_patch_text

__all__ = [
    "Parallelism",
    "accelerator_resource",
    "accelerator_type",
    "accelerator_warning",
    "claim_name",
    "claim_template_name",
    "claim_template_object_name",
    "container_resources",
    "dra_enabled",
    "fullname",
    "init_containers_gate",
    "lws_size",
    "model_command",
    "parallelism",
    "pod_claims",
    "podmonitor_name",
    "proxy_args",
    "proxy_emitted",
    "render",
    "render_texts",
    "replicas_text",
    "resource_name",
    "server_patch_text",
    "service_account_name",
    "split_uri",
    "vllm_port_text",
]
