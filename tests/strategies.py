"""Hypothesis strategies for llm-d-modelservice v0.4.12 values that the chart ACCEPTS.

Every value drawn here passes the chart's JSON schema (CHART-BEHAVIOUR §1.2) and avoids
every rendering failure of §19:

* containers always have an image; ``custom`` (or no ``modelCommand``) always has a command;
* parallelism is drawn as a consistent triple (``data = dataLocal × workers``) and then
  some keys are nulled or zeroed, so every derived division (§9.1) is exact;
* ``pvc+hf://`` URIs have at least three segments, no ``oci://`` URIs;
* ``modelArtifacts.labels`` never becomes empty and never holds ``llm-d.ai/role``;
* no value holds a ``'`` (a template value with a quote breaks the chart's YAML), no raw
  ``{{`` outside the places the chart renders (§15), and no key the chart writes again
  (the duplicate keys of §20 that Kustomize refuses);
* ``routing.proxy.image`` is never emptied, ``autoscaling`` is never nulled;
* extraObjects never have the kind and name of one of the chart's own objects (they may have
  those of a library object, or their own namespace: both legal for the chart).

Strings avoid YAML 1.1 booleans (``y``, ``n``, ``on``, ...) so that a values file written with
PyYAML reads back the same under Helm's rules; names are never all digits (the chart writes
them unquoted, YAML reads a number, Kubernetes refuses the object).

``chart_values()`` combines the features the migration has to handle: accelerator type ×
multinode × P/D × monitoring per role × DRA (global and per role) × model URI scheme ×
routing proxy × overrides × parallelism × replicas × containers × tracing × requester ×
extraObjects × scheduling and metadata. ``matrix_values()`` builds one deterministic values
map from the six matrix factors, with the same vocabulary.
"""

from __future__ import annotations

import re
from typing import Any

from hypothesis import strategies as st

# --- vocabulary ------------------------------------------------------------------------------

ACCELERATORS = ("nvidia", "intel-xe", "intel-i915", "intel-gaudi", "amd", "google", "cpu", "rebellions-atom")

# The chart's default device-plugin resource names (CHART-BEHAVIOUR §9.2); cpu has none.
RESOURCE_NAMES = {
    "nvidia": "nvidia.com/gpu",
    "intel-i915": "gpu.intel.com/i915",
    "intel-xe": "gpu.intel.com/xe",
    "intel-gaudi": "habana.ai/gaudi",
    "amd": "amd.com/gpu",
    "google": "google.com/tpu",
    "rebellions-atom": "rebellions.ai/ATOM",
}

# Types with a default ``accelerator.resourceClaimTemplates`` entry (§11).
CLAIM_TEMPLATE_TYPES = ("nvidia", "intel-i915", "intel-xe", "intel-gaudi", "amd", "google")

SIM_IMAGE = "ghcr.io/llm-d/llm-d-inference-sim:latest"
IMAGES = {
    "nvidia": "ghcr.io/llm-d/llm-d-cuda:v0.3.1",
    "intel-xe": "ghcr.io/llm-d/llm-d-xpu:v0.3.0",
    "intel-i915": "ghcr.io/llm-d/llm-d-xpu:v0.3.0",
    "intel-gaudi": "ghcr.io/llm-d/llm-d-gaudi:v0.3.0",
    "amd": "docker.io/rocm/vllm:rocm6.4.1_vllm_0.9.1",
    "google": "docker.io/vllm/vllm-tpu:v0.10.0",
    "cpu": "ghcr.io/llm-d/llm-d-cpu:v0.3.0",
    "rebellions-atom": "docker.io/rebellions/vllm-rbln:v0.8.0",
}
SIDECAR_IMAGES = ("docker.io/library/busybox:1.36", "ghcr.io/llm-d/kv-cache-agent:v0.2.0")

MODEL_COMMANDS = ("vllmServe", "imageDefault", "custom")
CHART_NAME = "llm-d-modelservice"

_WORDS = ("llm", "d", "model", "serve", "prod", "dev", "team", "a", "b", "qwen", "granite",
          "opt", "pd", "svc", "x1", "z9", "eu", "us", "gpu", "cache", "modelservice")
_YAML11_SCALARS = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
_HELM_RELEASE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def one_in(n: int) -> st.SearchStrategy[bool]:
    """True with probability 1/n (``st.integers`` favours its bounds, ``sampled_from`` does not)."""
    return st.sampled_from(range(n)).map(lambda i: i == n - 1)


def weighted(*choices: tuple[st.SearchStrategy[Any], int]) -> st.SearchStrategy[Any]:
    """One of the strategies, each with a relative weight."""
    return st.sampled_from([strategy for strategy, weight in choices for _ in range(weight)]).flatmap(lambda x: x)


def _safe_scalar(text: str) -> bool:
    return text.lower() not in _YAML11_SCALARS


def _numeric(text: str) -> bool:
    """All digits (``5``, ``0123``): the chart writes names unquoted, so YAML reads a number, and
    Kubernetes refuses such objects; names like these are left to explicit tests."""
    return text.isdigit()


def dns_labels(max_size: int = 40) -> st.SearchStrategy[str]:
    """Lowercase DNS labels: readable word joins, and arbitrary ones from the regex."""
    words = st.lists(st.sampled_from(_WORDS), min_size=1, max_size=4).map("-".join)
    free = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
    return st.one_of(words, free).map(lambda s: s[:max_size].rstrip("-")).filter(
        lambda s: bool(s) and _DNS_LABEL.match(s) is not None and _safe_scalar(s) and not _numeric(s))


def release_names(dotted: bool = True) -> st.SearchStrategy[str]:
    """Valid Helm release names (at most 53 characters), some containing the chart name.

    ``dotted`` (default) also draws names with dots, which Helm accepts
    (``^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$``)."""
    plain = dns_labels(53)
    with_chart = st.tuples(st.sampled_from(("", "my-", "prod-", "a-")), st.sampled_from(("", "-x", "-2", "-canary")),
                           ).map(lambda t: f"{t[0]}{CHART_NAME}{t[1]}")
    special = st.sampled_from((CHART_NAME, "modelservice", "ms", "llm-d", "el", "a" * 53,
                               "a234567890123456789012345678901234567", "release-" + "x" * 45))
    parts = [(plain, 4), (with_chart, 2), (special, 2)]
    if dotted:
        parts.append((st.lists(dns_labels(12), min_size=2, max_size=3).map(".".join), 1))
    return weighted(*parts).filter(lambda s: len(s) <= 53 and _HELM_RELEASE.match(s) is not None)


def namespaces() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(("default", "llm-d", "inference", "obs")), dns_labels(30))


def _model_segments() -> st.SearchStrategy[str]:
    """Path segments of model ids; mostly starting with a letter, sometimes all digits (the chart
    writes the MODEL arg unquoted, so ``1234`` becomes an integer, §8.2)."""
    words = st.from_regex(r"\A[A-Za-z][A-Za-z0-9._-]{0,15}\Z").filter(_safe_scalar)
    return st.one_of(words, st.sampled_from(("1234", "v1.5", "Llama-3.1-8B", "opt_125m")))


def model_names() -> st.SearchStrategy[str]:
    """``org/model`` ids, and a few one-segment and three-segment ones."""
    known = st.sampled_from(("facebook/opt-125m", "meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-0.6B",
                             "ibm-granite/granite-3.3-2b", "random/model", "gpt2", "deepseek-ai/DeepSeek-R1"))
    org_model = st.tuples(_model_segments(), _model_segments()).map("/".join)
    three = st.lists(_model_segments(), min_size=3, max_size=3).map("/".join)
    return weighted((known, 3), (org_model, 4), (_model_segments(), 1), (three, 1))


# --- model artifacts -------------------------------------------------------------------------

URI_SCHEMES = ("hf", "hf-template", "pvc", "pvc+hf")


def model_uri(scheme: str, name: str, claim: str, path: list[str]) -> str | None:
    """The ``modelArtifacts.uri`` for a scheme; ``None`` keeps the chart's default template."""
    if scheme == "hf":
        return f"hf://{name}"
    if scheme == "hf-template":
        return "hf://{{ .Values.modelArtifacts.name }}"
    if scheme == "hf-default":
        return None
    if scheme == "pvc":
        return f"pvc://{claim}" + "".join(f"/{p}" for p in path)
    if scheme == "pvc+hf":
        segments = (path + ["hub", "org", "model"])[: max(3, len(path))]
        return f"pvc+hf://{claim}/" + "/".join(segments)
    raise ValueError(scheme)


@st.composite
def model_artifacts(draw: st.DrawFn, scheme: str | None = None) -> dict[str, Any]:
    scheme = scheme or draw(st.sampled_from(URI_SCHEMES + ("hf-default",)))
    name = draw(model_names())
    claim = draw(dns_labels(20))
    path = draw(st.lists(_model_segments(), min_size=0 if scheme == "pvc" else 3, max_size=5))
    out: dict[str, Any] = {"name": name}
    uri = model_uri(scheme, name, claim, path)
    if uri is not None:
        out["uri"] = uri
    extra = draw(st.fixed_dictionaries({}, optional={
        "size": st.sampled_from(("20Gi", "100Gi", "5Mi", "")),
        "authSecretName": st.sampled_from(("hf-token", "llm-d-hf-token")),
        "mountPath": st.sampled_from(("/model-cache", "/models", "/data/hf")),
        "readOnly": st.booleans(),
        "labels": model_labels(),
    }))
    out.update(extra)
    return out


@st.composite
def model_labels(draw: st.DrawFn) -> dict[str, Any]:
    labels: dict[str, Any] = {"llm-d.ai/model": draw(dns_labels(40))}
    if draw(st.booleans()):
        labels[draw(st.sampled_from(("team", "example.com/tier", "app.kubernetes.io/part-of")))] = draw(dns_labels(20))
    if draw(one_in(6)):
        labels["llm-d.ai/inference-serving"] = None  # nulls the default label; the map stays non-empty
    return labels


# --- parallelism -----------------------------------------------------------------------------


@st.composite
def parallelism(draw: st.DrawFn) -> dict[str, Any] | None:
    """A consistent ``tensor/data/dataLocal/workers`` (data = dataLocal × workers), with some
    keys nulled or zeroed (unset, §9.1) and keys equal to 1 sometimes left to the default 1:
    every value the chart sees is either unset or the consistent one, so every derivation of
    §9.1 divides exactly."""
    tensor = draw(st.sampled_from((1, 1, 2, 4, 8)))
    data_local = draw(st.sampled_from((1, 1, 2, 4)))
    workers = draw(st.sampled_from((1, 1, 2, 4)))
    full = {"tensor": tensor, "data": data_local * workers, "dataLocal": data_local, "workers": workers}
    out: dict[str, Any] = {}
    for key, value in full.items():
        how = draw(st.sampled_from(("give", "give", "give", "leave", "null", "zero")))
        if how == "leave" and value != 1:
            how = "give"
        if how == "give":
            out[key] = value
        elif how == "null":
            out[key] = None
        elif how == "zero":
            out[key] = 0
    return out or None


# --- containers ------------------------------------------------------------------------------

_ARGS = ("--enforce-eager", "--max-model-len=4096", "--block-size", "64", "--gpu-memory-utilization=0.9",
         "--kv-transfer-config", '{"kv_connector":"NixlConnector","kv_role":"kv_both"}', "--disable-log-requests")
_COMMANDS = (["python3", "-m", "vllm.entrypoints.openai.api_server"], ["vllm", "serve"], ["/bin/sh", "-c", "sleep inf"])


def env_vars() -> st.SearchStrategy[list[dict[str, Any]]]:
    name = st.from_regex(r"\A[A-Z][A-Z0-9_]{1,15}\Z").filter(
        lambda s: _safe_scalar(s) and s not in ("DP_SIZE", "TP_SIZE", "DP_SIZE_LOCAL"))
    value = st.one_of(st.sampled_from(("1", "true", "DEBUG", "cuda_ipc,cuda_copy,tcp", "0.9", "")),
                      st.sampled_from(("{{ .Release.Name }}", "{{ .Release.Namespace }}",
                                       "m-{{ .Values.modelArtifacts.name }}", "{{ .role }}")))
    plain = st.builds(lambda n, v: {"name": n, "value": v}, name, value)
    field_ref = st.builds(lambda n: {"name": n, "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}, name)
    return st.lists(st.one_of(plain, field_ref), max_size=3, unique_by=lambda e: e["name"])


@st.composite
def resources(draw: st.DrawFn, accelerator: str) -> dict[str, Any]:
    """Container resources; the accelerator key (an int or a string) sometimes in limits/requests."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "cpu": st.sampled_from(("4", "8", "16", 2)),
        "memory": st.sampled_from(("16Gi", "64Gi")),
    }
    if accelerator in RESOURCE_NAMES:
        optional[RESOURCE_NAMES[accelerator]] = st.one_of(st.integers(0, 8), st.sampled_from(("1", "2", "4")))
    out: dict[str, Any] = {}
    for side in ("limits", "requests"):
        entries = draw(st.fixed_dictionaries({}, optional=optional))
        if entries or draw(st.booleans()):
            out[side] = entries
    return out


@st.composite
def container(draw: st.DrawFn, accelerator: str, index: int = 0) -> dict[str, Any]:
    image = draw(st.sampled_from((IMAGES[accelerator], IMAGES[accelerator], SIM_IMAGE) if index == 0
                                 else SIDECAR_IMAGES + (IMAGES[accelerator],)))
    command = draw(st.sampled_from(MODEL_COMMANDS + (None,)))
    item: dict[str, Any] = {"name": "vllm" if index == 0 else f"sidecar-{index}", "image": image}
    if command is not None:
        item["modelCommand"] = command
    if command in ("custom", None) or draw(one_in(5)):
        item["command"] = draw(st.sampled_from(_COMMANDS))  # ignored by vllmServe/imageDefault
    item.update(draw(st.fixed_dictionaries({}, optional={
        "args": st.lists(st.sampled_from(_ARGS), max_size=4),
        "env": env_vars(),
        "resources": resources(accelerator),
        "mountModelVolume": st.booleans(),
        "ports": st.just([{"containerPort": 8200, "name": "metrics", "protocol": "TCP"}]),
        "volumeMounts": st.just([{"name": "shm", "mountPath": "/dev/shm"}]),
    })))
    if "mountModelVolume" not in item and index == 0 and draw(st.booleans()):
        item["mountModelVolume"] = True
    return item


@st.composite
def containers(draw: st.DrawFn, accelerator: str) -> list[dict[str, Any]]:
    count = draw(st.sampled_from((1, 1, 1, 2)))
    return [draw(container(accelerator, i)) for i in range(count)]


# --- roles -----------------------------------------------------------------------------------


def podmonitor() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"enabled": st.just(True)}, optional={
        "labels": st.sampled_from(({"release": "prometheus"}, {"team": "ml", "release": "kube-prom"})),
        "annotations": st.just({"note": "scraped"}),
        "interval": st.sampled_from(("15s", "1m")),
        "portName": st.sampled_from(("metrics", "vllm")),
        "path": st.just("/v1/metrics"),
        "relabelings": st.just([{"action": "replace", "sourceLabels": ["__meta_kubernetes_pod_name"],
                                 "targetLabel": "pod"}]),
    })


def role_accelerator(global_type: str) -> st.SearchStrategy[dict[str, Any]]:
    """``<R>.accelerator``: per-role DRA, and sometimes a per-role type (heterogeneous P/D)."""
    return st.fixed_dictionaries({"dra": st.booleans()}, optional={"type": st.sampled_from(ACCELERATORS + ("intel",))})


def scheduling(accelerator: str) -> st.SearchStrategy[dict[str, Any]]:
    node_selector = st.sampled_from(({"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
                                     {"kubernetes.io/arch": "amd64"}, {"pool": "gpu", "zone": "a"}))
    tolerations = st.sampled_from(([{"key": RESOURCE_NAMES.get(accelerator, "cpu-only"), "operator": "Exists",
                                     "effect": "NoSchedule"}],
                                   [{"key": "dedicated", "operator": "Equal", "value": "llm", "effect": "NoExecute"}]))
    return st.fixed_dictionaries({}, optional={
        "nodeSelector": node_selector,
        "tolerations": tolerations,
        "annotations": st.sampled_from(({"example.com/owner": "team-a"}, {"a": "1", "b": "two"})),
        "podAnnotations": st.sampled_from(({"prometheus.io/scrape": "true"}, {"sidecar.istio.io/inject": "false"})),
        "priorityClassName": st.sampled_from(("high-priority", "none")),
        "schedulerName": st.just("custom-scheduler"),
        "terminationGracePeriodSeconds": st.sampled_from((0, 30, 120)),
        "acceleratorTypes": st.just({"labelKey": "nvidia.com/gpu.product", "labelValues": ["H100", "A100"]}),
    })


def pod_extras() -> st.SearchStrategy[dict[str, Any]]:
    """Init containers, extra volumes and pod-level extraConfig (keys the chart does not write itself)."""
    init = st.just([{"name": "fetch", "image": "docker.io/library/busybox:1.36", "command": ["sh", "-c", "true"]}])
    volumes = st.just([{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "8Gi"}}])
    extra_config = st.sampled_from(({"dnsPolicy": "ClusterFirst"},
                                    {"hostNetwork": False, "shareProcessNamespace": True}))
    return st.fixed_dictionaries({}, optional={"initContainers": init, "volumes": volumes, "extraConfig": extra_config,
                                               "enableServiceLinks": st.booleans()})


@st.composite
def role(draw: st.DrawFn, name: str, accelerator: str, multinode: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    replicas = draw(st.one_of(st.none(), st.integers(0, 4)))
    if replicas is not None:
        out["replicas"] = replicas
    if not draw(one_in(5)):
        out["containers"] = draw(containers(accelerator))
    elif draw(one_in(10)):
        out["containers"] = []
    par = draw(parallelism())
    if par:
        out["parallelism"] = par
    if draw(st.booleans()):
        out["monitoring"] = {"podmonitor": draw(podmonitor())}
    if draw(one_in(3)):
        out["accelerator"] = draw(role_accelerator(accelerator))
    out.update(draw(scheduling(accelerator)))
    if draw(one_in(3)):
        out.update(draw(pod_extras()))
    if multinode:
        out.update(draw(st.fixed_dictionaries({}, optional={
            "subGroupPolicy": st.just({"subGroupSize": 2}),
            "subGroupExclusiveTopology": st.booleans(),
            "autoscaling": st.just({"enabled": True}),
        })))
    if draw(one_in(6)):
        out["resourceClaims"] = [{"name": "imex", "resourceClaimTemplateName": "imex-channel"}]
    return out


# --- routing, tracing, requester, extra objects ----------------------------------------------


def routing() -> st.SearchStrategy[dict[str, Any]]:
    """The proxy on (default), off, nulled, or with options; sometimes another service port."""
    options = st.fixed_dictionaries({}, optional={
        "targetPort": st.sampled_from((8200, 8300, 9002)),
        "connector": st.sampled_from(("nixl", "nixlv2", "lmcache")),
        "secure": st.one_of(st.booleans(), st.none()),
        "zapEncoder": st.one_of(st.sampled_from(("json", "console")), st.none()),
        "zapLogLevel": st.one_of(st.sampled_from(("info", "debug", "error")), st.integers(1, 5), st.none()),
        "zapDevel": st.booleans(),
        "zapStacktraceLevel": st.just("error"),
        "zapTimeEncoding": st.just("iso8601"),
        "prefillerUseTLS": st.booleans(),
        "certPath": st.sampled_from(("/certs", "")),
        "imagePullPolicy": st.sampled_from(("IfNotPresent", "Always")),
        "image": st.just("ghcr.io/llm-d/llm-d-routing-sidecar:v0.3.0"),
    })
    proxy = st.one_of(
        st.just({}),
        st.just({"enabled": False}),
        st.just({"enabled": None}),
        options,
        options.map(lambda o: {"enabled": True, **o}),
    )
    return st.fixed_dictionaries({"proxy": proxy}, optional={"servicePort": st.sampled_from((8000, 8080, 9000))}
                                 ).map(lambda r: {k: v for k, v in r.items() if v != {}})


def tracing() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"enabled": st.just(True)}, optional={
        "otlpEndpoint": st.just("http://otel:4317"),
        "sampling": st.just({"sampler": "always_on", "samplerArg": "0.5"}),
        "serviceNames": st.just({"vllmDecode": "dec", "vllmPrefill": "pre", "routingProxy": "proxy"}),
        "vllm": st.just({"collectDetailedTraces": "model"}),
    })


def requester() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"enable": st.just(True)}, optional={
        "adminPort": st.just(9081),
        "port": st.just({"probes": 9080, "spi": 9081}),
        "resources": st.just({"limits": {"gpus": 2, "cpus": 4, "memory": "1Gi"}}),
        "image": st.just("ghcr.io/llm-d-incubation/llm-d-fast-model-actuation/requester:v0.1.0"),
    })


def extra_objects() -> st.SearchStrategy[list[dict[str, Any]]]:
    config_map = st.builds(lambda n, d: {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}, "data": d},
                           st.sampled_from(("notes", "{{ .Release.Name }}-settings")),
                           st.sampled_from(({"a": "b"}, {"z": "1", "ns": "{{ .Release.Namespace }}"})))
    service = st.just({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "{{ .Release.Name }}-gateway"},
                       "spec": {"ports": [{"port": 80, "targetPort": 8000}],
                                "selector": {"llm-d.ai/inference-serving": "true"}}})
    secret = st.just({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "extra-token"},
                      "type": "Opaque", "stringData": {"token": "not-a-secret"}})
    cluster_scoped = st.just({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                              "metadata": {"name": "llm-d-high"}, "value": 100000})
    elsewhere = st.just({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "shared-settings", "namespace": "shared"}, "data": {"a": "b"}})
    library_named = st.sampled_from((
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "model-config"}, "data": {"model": "x"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "modelservice"}},
    ))
    item = weighted((config_map, 3), (service, 2), (secret, 2), (cluster_scoped, 1), (elsewhere, 1), (library_named, 1))
    return st.lists(item, min_size=1, max_size=3, unique_by=lambda o: (o["kind"], o["metadata"]["name"]))


def overrides() -> st.SearchStrategy[dict[str, Any]]:
    long_names = st.lists(st.sampled_from(_WORDS), min_size=8, max_size=16).map("-".join)
    return st.fixed_dictionaries({}, optional={
        "fullnameOverride": st.one_of(dns_labels(40), long_names, st.just("custom--")),
        "nameOverride": st.one_of(dns_labels(20), st.sampled_from(("el", "modelservice", "vllm"))),
        "serviceAccountOverride": dns_labels(30),
    })


def accelerator_section(accelerator: str) -> st.SearchStrategy[dict[str, Any]]:
    base = {"type": accelerator}
    claim_template = st.sampled_from((
        {"name": "h100", "class": "gpu.nvidia.com",
         "selectors": [{"cel": {"expression": 'device.attributes["gpu.nvidia.com"].productName == "H100"'}}]},
        {"name": f"{accelerator}-custom-claim-template"},
        {"match": "exactly", "class": "gpu.example.com"},
    ))
    optional: dict[str, st.SearchStrategy[Any]] = {"dra": st.booleans()}
    if accelerator in RESOURCE_NAMES:
        optional["resources"] = st.just({accelerator: RESOURCE_NAMES[accelerator].replace("/", "/custom-")})
    if accelerator in ("intel-xe", "intel-i915"):
        optional["env"] = st.just({accelerator: [{"name": "ZE_AFFINITY_MASK", "value": "0"}]})
    if accelerator in CLAIM_TEMPLATE_TYPES:
        optional["resourceClaimTemplates"] = claim_template.map(lambda e: {accelerator: e})
    return st.fixed_dictionaries({k: st.just(v) for k, v in base.items()}, optional=optional)


# --- the whole values map --------------------------------------------------------------------


@st.composite
def chart_values(draw: st.DrawFn) -> dict[str, Any]:
    """A user values map the chart renders without error, mixing all the features."""
    accelerator = draw(st.sampled_from(ACCELERATORS))
    multinode = draw(st.booleans())
    values: dict[str, Any] = {}
    values["accelerator"] = draw(accelerator_section(accelerator))
    if accelerator == "nvidia" and draw(st.booleans()):
        values["accelerator"].pop("type")  # the default type
    if not values["accelerator"]:
        del values["accelerator"]
    if multinode or draw(st.booleans()):
        values["multinode"] = multinode
    values["modelArtifacts"] = draw(model_artifacts())
    decode = draw(role("decode", accelerator, multinode))
    if draw(one_in(10)):
        decode["create"] = False
    prefill = draw(role("prefill", accelerator, multinode))
    if draw(one_in(3)):
        prefill["create"] = False
    for key, section in (("decode", decode), ("prefill", prefill)):
        if section:
            values[key] = section
    route = draw(routing())
    if route:
        values["routing"] = route
    values.update(draw(overrides()))
    values.update(draw(st.fixed_dictionaries({}, optional={
        "tracing": tracing(),
        "requester": requester(),
        "extraObjects": extra_objects(),
        "schedulerName": st.just("top-scheduler"),
    })))
    return values


# --- the pairwise matrix ---------------------------------------------------------------------

PD_MODES = ("decode-only", "pd", "prefill-zero")
MONITORING = ("none", "decode", "both")
DRA_MODES = ("off", "global", "per-role")
PROXY_MODES = ("on", "off", "options")


def matrix_values(accelerator: str, multinode: bool, pd: str, monitoring: str, dra: str, proxy: str
                  ) -> dict[str, Any]:
    """A realistic values map for one row of the pairwise matrix."""
    gpu = RESOURCE_NAMES.get(accelerator)

    def role_values(replicas: int, port: int) -> dict[str, Any]:
        limits: dict[str, Any] = {"cpu": "8", "memory": "16Gi"}
        return {
            "replicas": replicas,
            "parallelism": {"tensor": 2, "workers": 2} if multinode else {"tensor": 2},
            "containers": [{
                "name": "vllm", "image": IMAGES[accelerator], "modelCommand": "vllmServe",
                "mountModelVolume": True, "args": ["--enforce-eager"],
                "env": [{"name": "VLLM_LOGGING_LEVEL", "value": "DEBUG"}],
                "ports": [{"containerPort": port, "name": "metrics", "protocol": "TCP"}],
                "resources": {"limits": limits, "requests": dict(limits)},
            }],
        }

    values: dict[str, Any] = {
        "accelerator": {"type": accelerator},
        "multinode": multinode,
        "modelArtifacts": {"name": "Qwen/Qwen3-0.6B", "uri": "hf://Qwen/Qwen3-0.6B", "size": "20Gi",
                           "labels": {"llm-d.ai/inference-serving": "true", "llm-d.ai/model": "qwen3-0-6b"}},
        "decode": role_values(2, 8200),
        "prefill": role_values(1, 8000) if pd == "pd" else {"create": pd != "decode-only"},
    }
    if gpu and not multinode:
        values["decode"]["containers"][0]["resources"]["limits"][gpu] = 2
    if monitoring in ("decode", "both"):
        values["decode"]["monitoring"] = {"podmonitor": {"enabled": True}}
    if monitoring == "both":
        values["prefill"]["monitoring"] = {"podmonitor": {"enabled": True, "labels": {"release": "prometheus"}}}
    if dra == "global":
        values["accelerator"]["dra"] = True
    elif dra == "per-role":
        values["decode"]["accelerator"] = {"dra": True}
    if proxy == "off":
        values["routing"] = {"proxy": {"enabled": False}}
    elif proxy == "options":
        values["routing"] = {"servicePort": 8080, "proxy": {"connector": "nixl", "secure": True, "targetPort": 8300,
                                                            "zapLogLevel": "info", "certPath": "/certs"}}
    return values
