"""Property tests: generated chart values migrate to overlays that render what the chart renders.

The oracle is the chart model (``migrate.chart.render``, checked on real Helm renders). For
values the chart accepts (``strategies.chart_values``), ``helm-to-kustomize VALUES -o DIR
--release R --namespace NS`` must exit 0, the written overlay must keep the invariants of
DESIGN.md, and the overlay built with real Kustomize must equal the model's objects under the
project's normalisation (``verify_objects``). The same checks run on a pairwise matrix of
accelerator × multinode × P/D × monitoring × DRA × proxy. The chart model itself is held
against an independent reading of CHART-BEHAVIOUR.md.

Bounded for CI (about a minute): ``H2K_PROPERTY_EXAMPLES`` (default 25) sets the number of
migrating examples. For a long local exploration::

    H2K_PROPERTY_EXAMPLES=300 pytest tests/test_properties.py

``H2K_PROPERTY_SHRINK=1`` lets Hypothesis shrink a failure (slow: every step runs Kustomize);
``H2K_PROPERTY_KNOWN_BUGS=1`` stops skipping the values of the known bugs listed below.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis.errors import InvalidArgument

import strategies as s
from migrate import chart, tools, values
from migrate.commands.verify import verify_objects
from migrate.hooks import overlay_namespace
from migrate.mapping import truthy
from migrate.reporters import get_reporter

EXAMPLES = int(os.environ.get("H2K_PROPERTY_EXAMPLES", "25"))
# Shrinking a failure re-runs Kustomize hundreds of times (minutes): off unless H2K_PROPERTY_SHRINK=1;
# a failing example is printed whole (values.yaml, release, namespace) either way.
PHASES = [p for p in Phase if p != Phase.shrink or os.environ.get("H2K_PROPERTY_SHRINK") == "1"]
MIGRATING = settings(max_examples=EXAMPLES, deadline=None, phases=PHASES,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                            HealthCheck.data_too_large])
MODEL_ONLY = settings(max_examples=max(2 * EXAMPLES, 50), deadline=None, phases=PHASES,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
VERSION = "v0.4.12"
DEPRECATED_KUSTOMIZE_FIELDS = {"patchesStrategicMerge", "patchesJson6902", "bases", "commonLabels", "vars",
                               "imageTags"}
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


# --- known bugs ---------------------------------------------------------------------------------
# Each known engine bug has a minimal strict-xfail reproduction at the end of this file
# (test_known_bug*). Those the strategies can draw also have a predicate here: the properties
# skip such values unless H2K_PROPERTY_KNOWN_BUGS=1, so that CI stays green and a long
# exploration finds NEW bugs. When a bug is fixed its reproduction XPASSes (strict): delete it,
# its reason and its predicate.


def _extra_objects(effective: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in effective.get("extraObjects") or [] if isinstance(o, dict)]


LIBRARY_OBJECTS = {("ConfigMap", "model-config"), ("ServiceAccount", "modelservice"),
                   ("Deployment", "modelservice-decode"), ("Deployment", "modelservice-prefill")}

KNOWN_BUGS: dict[str, Callable[[dict[str, Any], str], bool]] = {
}
KNOWN_BUG_REASONS = {
    "number-printed-in-exponent-form": "terminationGracePeriodSeconds >= 1e6 prints as 1.234567e+06 (a float); "
                                       "the overlay gives the integer 1234567 (Kustomize writes integral numbers "
                                       "as integers): exit 1",
    "requester-without-literals": "with requester on and no prefill workload the overlay has no literal at all: the "
                                  "server-patch annotation is patched as a whole, so modelName cannot drive it",
    "numeric-namespace": "the chart writes the PodMonitor namespace unquoted (5 is an integer); the overlay has "
                         "the string '5', yet the migration exits 0",
}
INCLUDE_KNOWN_BUGS = os.environ.get("H2K_PROPERTY_KNOWN_BUGS") == "1"
_DEFAULTS = values.load_defaults(VERSION)


def known_bug(user: dict[str, Any], namespace: str) -> str | None:
    """The id of the known bug these values hit, if any."""
    effective = values.merge_defaults(_DEFAULTS, user)
    return next((bug for bug, hits in KNOWN_BUGS.items() if hits(effective, namespace)), None)


def skip_known_bugs(user: dict[str, Any], namespace: str) -> None:
    if not INCLUDE_KNOWN_BUGS:
        assume(known_bug(user, namespace) is None)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


@dataclass
class Migrated:
    """One migration: the user's values, the overlay written and what Kustomize builds from it."""

    user: dict[str, Any]
    effective: dict[str, Any]
    release: str
    namespace: str
    out: Path
    built: str
    kustomize: str | None = None

    @property
    def kustomization(self) -> dict[str, Any]:
        return yaml.safe_load((self.out / "kustomization.yaml").read_text(encoding="utf-8"))

    def objects(self) -> list[dict[str, Any]]:
        return [d for d in yaml.load_all(self.built, Loader=_Loader) if isinstance(d, dict)]

    @functools.cached_property
    def expected(self) -> list[dict[str, Any]]:
        """The chart model's objects for these values, release and namespace."""
        return chart.render(self.effective, self.release, self.namespace)


def _note(text: str) -> None:
    """Hypothesis prints notes with a falsifying example; outside a given test there is nothing to do."""
    try:
        note(text)
    except InvalidArgument:
        pass


def migrate_values(cli: Callable, kustomize: str, workdir: Path, user: dict[str, Any], release: str,
                   namespace: str) -> Migrated:
    """Run ``helm-to-kustomize VALUES -o DIR --release R --namespace NS``; it must exit 0."""
    text = yaml.safe_dump(user, sort_keys=False)
    _note(f"release={release} namespace={namespace}\n--- values.yaml\n{text}")
    path = workdir / "values.yaml"
    path.write_text(text, encoding="utf-8")
    out = workdir / "overlay"
    result = cli(path, "-o", out, "--release", release, "--namespace", namespace)
    assert result.exit_code == 0, f"exit {result.exit_code}\n{result.stdout}{result.stderr}"
    built = tools.kustomize_build(out, kustomize)
    return Migrated(user, values.effective_values(path, VERSION), release, namespace, out, built, kustomize)


def assert_equivalent_to_chart(m: Migrated) -> None:
    """The overlay's objects equal the chart model's, under the project's normalisation."""
    helm_text = yaml.dump_all(m.expected, Dumper=_Dumper, sort_keys=False)
    result = verify_objects(helm_text, m.built, m.namespace, helm_source="chart model")
    assert result.equivalent, get_reporter("text").render(result)


def assert_overlay_invariants(m: Migrated) -> None:
    """What every generated overlay keeps, whatever the values (DESIGN.md)."""
    doc = m.kustomization
    for kustomization in m.out.rglob("kustomization.yaml"):
        deprecated = set(yaml.safe_load(kustomization.read_text(encoding="utf-8")) or {}) & DEPRECATED_KUSTOMIZE_FIELDS
        assert not deprecated, f"{kustomization}: deprecated {deprecated}"
    components = doc.get("components") or []
    # model-config last, but for prefill-default, which reshapes what model-config filled in
    rest = components[:-1] if components and components[-1].endswith("/components/prefill-default") else components
    assert rest and rest[-1].endswith("/components/model-config"), components
    for component in components:
        kind = yaml.safe_load((m.out / component / "kustomization.yaml").read_text(encoding="utf-8"))["kind"]
        assert kind == "Component", f"{component} is a {kind}"

    objects = m.objects()
    chart_config_maps = {o["metadata"]["name"] for o in m.expected if o.get("kind") == "ConfigMap"}
    config_maps = {o["metadata"]["name"] for o in objects if o.get("kind") == "ConfigMap"} - chart_config_maps
    assert not [n for n in config_maps if "model-config" in n], config_maps
    if not truthy(m.effective.get("multinode")):
        assert not [o for o in objects if o.get("kind") == "LeaderWorkerSet"]

    name = m.effective["modelArtifacts"].get("name")
    if isinstance(name, str) and _PLAIN_NAME.match(name):
        assert literals(m).get("modelName", name) == name, literals(m)

    referenced = {p["path"] for p in doc.get("patches") or []}
    referenced |= {yaml.safe_load(t).get("path") for t in doc.get("transformers") or []} - {None}
    written = {str(p.relative_to(m.out)) for p in m.out.glob("patches/*")}
    assert written == referenced, f"unreferenced {written - referenced}, missing {referenced - written}"
    assert (m.out / "objects.yaml").exists() == ("objects.yaml" in (doc.get("resources") or []))
    assert_literals_drive_the_workloads(m)


def literals(m: Migrated) -> dict[str, str]:
    doc = m.kustomization
    pairs = [lit.partition("=") for gen in doc.get("configMapGenerator") or [] for lit in gen.get("literals") or []]
    return {key: value for key, _, value in pairs}


def _needle(value: str) -> str:
    """What of a literal's value shows in the objects (``hf://org/m`` shows as ``org/m``)."""
    return value.split("://")[-1]


def edited_build(m: Migrated, edits: dict[str, str]) -> str:
    """Kustomize's output with some literals of kustomization.yaml given new values."""
    path = m.out / "kustomization.yaml"
    text = path.read_text(encoding="utf-8")
    lines = []
    for line in text.splitlines():
        indent, _, item = line.partition("- ")
        key = item.partition("=")[0]
        lines.append(f"{indent}- {key}={edits[key]}" if not indent.strip() and key in edits else line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        return tools.kustomize_build(m.out, m.kustomize)
    finally:
        path.write_text(text, encoding="utf-8")


def assert_literals_drive_the_workloads(m: Migrated) -> None:
    """DESIGN.md: a literal that changes nothing in the rendered workloads is a defect. Each
    literal of kustomization.yaml, edited, must show its new value in the build (one build:
    each literal gets its own marker)."""
    edits = {k: f"{v}-edited{i}" for i, (k, v) in enumerate(literals(m).items())}
    if not edits:
        return
    built = edited_build(m, edits)
    dead = [k for k, v in edits.items() if _needle(v) not in built]
    assert not dead, f"editing the literals {dead} changes nothing in the workloads"


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Callable[[], tempfile.TemporaryDirectory]:
    """A fresh directory per example under pytest's base temp, removed after the example."""
    base = tmp_path_factory.mktemp("properties")
    return lambda: tempfile.TemporaryDirectory(prefix="case-", dir=base)


@pytest.fixture
def migrate_case(cli, kustomize_bin, workdir) -> Callable[..., Migrated]:
    """Migrate one values map; assert exit 0, the invariants and equivalence to the chart."""
    def run(user: dict[str, Any], release: str = "rel", namespace: str = "llm-d") -> Migrated:
        with workdir() as tmp:
            m = migrate_values(cli, kustomize_bin, Path(tmp), user, release, namespace)
            assert_overlay_invariants(m)
            assert_equivalent_to_chart(m)
            return m

    return run


# --- the properties -----------------------------------------------------------------------------


@MIGRATING
@given(user=s.chart_values(), release=s.release_names(), namespace=s.namespaces())
def test_migrated_overlay_renders_what_the_chart_renders(cli, kustomize_bin, workdir, user, release, namespace):
    """Exit 0, the written overlay keeps the invariants, and it builds to the chart's objects."""
    skip_known_bugs(user, namespace)
    with workdir() as tmp:
        m = migrate_values(cli, kustomize_bin, Path(tmp), user, release, namespace)
        assert_overlay_invariants(m)
        assert_equivalent_to_chart(m)


# --- pairwise matrix: accelerator × multinode × P/D × monitoring × DRA × proxy ---------------

MATRIX = [
    # accelerator,   multinode, P/D,          monitoring, DRA,        proxy
    ("nvidia",          False, "decode-only",  "both",    "off",      "on"),
    ("nvidia",          True,  "pd",           "decode",  "per-role", "off"),
    ("nvidia",          False, "prefill-zero", "none",    "global",   "options"),
    ("intel-xe",        True,  "prefill-zero", "none",    "off",      "off"),
    ("intel-xe",        False, "pd",           "both",    "per-role", "on"),
    ("intel-xe",        True,  "decode-only",  "decode",  "global",   "options"),
    ("intel-i915",      False, "prefill-zero", "both",    "per-role", "on"),
    ("intel-i915",      True,  "pd",           "decode",  "off",      "off"),
    ("intel-i915",      True,  "decode-only",  "none",    "global",   "options"),
    ("intel-gaudi",     True,  "decode-only",  "both",    "global",   "off"),
    ("intel-gaudi",     False, "pd",           "none",    "per-role", "on"),
    ("intel-gaudi",     True,  "prefill-zero", "decode",  "off",      "options"),
    ("amd",             True,  "decode-only",  "decode",  "per-role", "options"),
    ("amd",             False, "prefill-zero", "both",    "global",   "on"),
    ("amd",             False, "pd",           "none",    "off",      "off"),
    ("google",          False, "prefill-zero", "none",    "per-role", "off"),
    ("google",          True,  "pd",           "decode",  "global",   "on"),
    ("google",          True,  "decode-only",  "both",    "off",      "options"),
    ("cpu",             True,  "prefill-zero", "decode",  "global",   "off"),
    ("cpu",             False, "decode-only",  "none",    "off",      "on"),
    ("cpu",             False, "pd",           "both",    "per-role", "options"),
    ("rebellions-atom", True,  "pd",           "none",    "global",   "off"),
    ("rebellions-atom", False, "prefill-zero", "decode",  "off",      "on"),
    ("rebellions-atom", False, "decode-only",  "both",    "per-role", "options"),
]
FACTORS = (s.ACCELERATORS, (False, True), s.PD_MODES, s.MONITORING, s.DRA_MODES, s.PROXY_MODES)


def _row_id(row: tuple) -> str:
    accelerator, multinode, pd, monitoring, dra, proxy = row
    return f"{accelerator}-{'lws' if multinode else 'deploy'}-{pd}-mon-{monitoring}-dra-{dra}-proxy-{proxy}"


def test_matrix_covers_every_pair_of_factor_levels():
    for i, j in itertools.combinations(range(len(FACTORS)), 2):
        seen = {(row[i], row[j]) for row in MATRIX}
        assert seen == set(itertools.product(FACTORS[i], FACTORS[j])), (i, j)


MATRIX_NAMESPACE = "llm-d"


def _matrix_param(row: tuple) -> Any:
    """A matrix row; a row that hits a known bug is a strict xfail naming it."""
    bug = known_bug(s.matrix_values(*row), MATRIX_NAMESPACE)
    marks = [pytest.mark.xfail(strict=True, reason=f"known bug {bug}: {KNOWN_BUG_REASONS[bug]}")] if bug else []
    return pytest.param(row, id=_row_id(row), marks=marks)


@pytest.mark.parametrize("row", [_matrix_param(r) for r in MATRIX])
def test_matrix_case_migrates_to_an_equivalent_overlay(migrate_case, row):
    m = migrate_case(s.matrix_values(*row), release=f"m-{row[0]}", namespace=MATRIX_NAMESPACE)
    multinode = row[1]
    kinds = {o["kind"] for o in m.objects()}
    assert ("LeaderWorkerSet" in kinds) == multinode
    assert ("PodMonitor" in kinds) == (row[3] != "none")


# --- the chart model against CHART-BEHAVIOUR.md -----------------------------------------------------
# An independent reading of the documented rules, compared with what the model renders: the
# object inventory and names (§2, §2.1, §11), labels and selectors (§3), the service account
# (§2.2), namespaces (§2), the routing proxy gate and args (§6), the vLLM port and served name
# (§8.2, §8.4), the parallelism env and LWS size (§9.1), the device-plugin auto-fill (§9.2, §9.3),
# the accelerator warning (§9.4) and the DRA claims of pods and containers (§11).


def _doc_fullname(v: dict[str, Any], release: str) -> str:
    def cut(text: str) -> str:
        text = text.encode()[:55].decode(errors="ignore")
        return text[:-1] if text.endswith("-") else text

    if truthy(v.get("fullnameOverride")):
        return cut(str(v["fullnameOverride"]))
    name = str(v["nameOverride"]) if truthy(v.get("nameOverride")) else s.CHART_NAME
    return cut(release if name in release else f"{release}-{name}")


def _doc_role_type(v: dict[str, Any], role: str) -> str:
    own = (v.get(role) or {}).get("accelerator")
    if truthy(own) and isinstance(own, dict) and "type" in own:
        return str(own["type"])
    kind = (v.get("accelerator") or {}).get("type")
    return str(kind) if truthy(kind) else "nvidia"


def _doc_dra(v: dict[str, Any], role: str) -> bool:
    own = (v.get(role) or {}).get("accelerator")
    if truthy(own) and isinstance(own, dict) and "dra" in own:
        return truthy(own["dra"])
    return truthy((v.get("accelerator") or {}).get("dra"))


def _doc_parallelism(v: dict[str, Any], role: str) -> tuple[int, int, int, int]:
    """(TP, DP, DPL, W) of §9.1 (values drawn by the strategies always divide exactly)."""
    p = (v.get(role) or {}).get("parallelism") or {}
    t, d, dl, w = (p.get(k) if truthy(p.get(k)) else None for k in ("tensor", "data", "dataLocal", "workers"))
    tp = t or 1
    dp = d or (dl * w if dl and w else dl or 1)
    dpl = dl or (d // w if d and w else d or 1)
    size = w or (d // dl if d and dl else 1)
    return tp, dp, dpl, size


def _doc_inventory(v: dict[str, Any], release: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(the chart's own objects, the extraObjects) as (kind, name), per §2 and §11."""
    full = _doc_fullname(v, release)
    out: set[tuple[str, str]] = set()
    if not truthy(v.get("serviceAccountOverride")):
        out.add(("ServiceAccount", full))
    multinode = truthy(v.get("multinode"))
    for role in ("decode", "prefill"):
        r = v.get(role) or {}
        if not truthy(r.get("create")):
            continue
        if multinode:
            out.add(("LeaderWorkerSet", f"{full}-{role}"))
        elif role == "decode" and truthy((v.get("requester") or {}).get("enable")):
            out.add(("ReplicaSet", f"{full}-{role}"))
        else:
            out.add(("Deployment", f"{full}-{role}"))
        if truthy(((r.get("monitoring") or {}).get("podmonitor") or {}).get("enabled")):
            out.add(("PodMonitor", f"{full}-{role}-podmonitor"))
        kind = _doc_role_type(v, role)
        entry = ((v.get("accelerator") or {}).get("resourceClaimTemplates") or {}).get(kind)
        if _doc_dra(v, role) and truthy(entry):
            name = f"{entry['name']}-{role}" if "name" in entry else f"{kind}-{role}-claim-template"
            out.add(("ResourceClaimTemplate", name))
    extra = {(o["kind"], o["metadata"]["name"].replace("{{ .Release.Name }}", release))
             for o in v.get("extraObjects") or []}
    return out, extra


def _doc_proxy_args(v: dict[str, Any]) -> list[str]:
    """The routing proxy's args (§6)."""
    routing = v.get("routing") or {}
    proxy = routing.get("proxy") or {}

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    args = [f"--port={text(routing.get('servicePort') or 8000)}",
            f"--vllm-port={text(proxy.get('targetPort') or 8200)}",
            f"--connector={text(proxy.get('connector') or 'nixlv2')}"]
    flags = (("zapDevel", "zap-devel"), ("zapEncoder", "zap-encoder"), ("zapLogLevel", "zap-log-level"),
             ("zapStacktraceLevel", "zap-stacktrace-level"), ("zapTimeEncoding", "zap-time-encoding"),
             ("secure", "secure-proxy"), ("prefillerUseTLS", "prefiller-use-tls"), ("certPath", "cert-path"))
    return args + [f"--{flag}={text(proxy[key])}" for key, flag in flags if key in proxy]


def _doc_vllm_port(v: dict[str, Any], role: str) -> str:
    """PORT of the vLLM args (§8.4)."""
    routing = v.get("routing") or {}
    proxy = routing.get("proxy") or {}
    if role == "decode" and not ("enabled" in proxy and proxy["enabled"] is False):
        return str(proxy.get("targetPort", ""))
    return str(routing.get("servicePort", ""))


def _doc_resource_name(v: dict[str, Any], role: str, item: dict[str, Any]) -> str:
    kind = _doc_role_type(v, role)
    if "llm-d-inference-sim" in str(item.get("image")) or kind == "cpu":
        return ""
    table = (v.get("accelerator") or {}).get("resources") or {}
    return str(table[kind]) if kind in table else "nvidia.com/gpu"


def _doc_claims(v: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The pod's resourceClaims (§11): the DRA accelerator claim, then the role's own claims."""
    own = list((v.get(role) or {}).get("resourceClaims") or [])
    if not _doc_dra(v, role):
        return own
    kind = _doc_role_type(v, role)
    entry = ((v.get("accelerator") or {}).get("resourceClaimTemplates") or {}).get(kind)
    name = (entry or {}).get("name")
    if truthy(name):
        stem = name[: -len("-claim-template")] if name.endswith("-claim-template") else name
        claim = {"name": f"{stem}-{role}-claim", "resourceClaimTemplateName": f"{name}-{role}"}
    else:
        claim = {"name": f"{kind}-{role}-claim", "resourceClaimTemplateName": f"{kind}-{role}-claim-template"}
    return [claim, *own]


def _doc_warning(v: dict[str, Any], role: str) -> str | None:
    """The accelerator-warning annotation (§9.4): first container, global accelerator type."""
    items = (v.get(role) or {}).get("containers") or []
    if not items:
        return None
    first = items[0]
    kind = (v.get("accelerator") or {}).get("type") or "nvidia"
    table = (v.get("accelerator") or {}).get("resources") or {}
    res = "" if "llm-d-inference-sim" in str(first.get("image")) or kind == "cpu" else table.get(kind, "nvidia.com/gpu")
    tp, _, dpl, _ = _doc_parallelism(v, role)
    limits = (first.get("resources") or {}).get("limits") or {}
    if dpl * tp < 1 or not res or res not in limits or int(limits[res]) == dpl * tp:
        return None
    return f"Accelerator mismatch: {res} is set to {limits[res]} but parallelism calculates {dpl * tp}. Using {limits[res]}."


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "LeaderWorkerSet":
        return obj["spec"]["leaderWorkerTemplate"]["workerTemplate"]["spec"]
    return obj["spec"]["template"]["spec"]


def assert_model_follows_the_documented_rules(v: dict[str, Any], release: str, namespace: str) -> None:
    objects = chart.render(v, release, namespace)
    own, extra = _doc_inventory(v, release)
    assert {(o["kind"], o["metadata"]["name"]) for o in objects} == own | extra
    full = _doc_fullname(v, release)
    account = v["serviceAccountOverride"] if truthy(v.get("serviceAccountOverride")) else full
    model_labels = {k: val for k, val in (v["modelArtifacts"].get("labels") or {}).items() if val is not None}
    proxy = (v.get("routing") or {}).get("proxy") or {}
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key not in own:
            continue
        want_ns = namespace if obj["kind"] == "PodMonitor" else None
        assert obj["metadata"].get("namespace") == want_ns, key
        role = next((r for r in ("decode", "prefill") if obj["metadata"]["name"] == f"{full}-{r}"), None)
        if role is None or obj["kind"] == "ReplicaSet":
            continue
        pod = _pod_spec(obj)
        labels = {**model_labels, "llm-d.ai/role": role}
        assert pod["serviceAccountName"] == account, key
        tp, dp, dpl, size = _doc_parallelism(v, role)
        if obj["kind"] == "LeaderWorkerSet":
            assert obj["spec"]["leaderWorkerTemplate"]["size"] == size, key
            assert obj["metadata"]["labels"] == {**names_common_labels(), **labels}, key
        else:
            assert obj["metadata"]["labels"] == names_common_labels(), key
            assert obj["spec"]["selector"]["matchLabels"] == labels, key
        if role == "decode":
            inits = pod.get("initContainers") or []
            emitted = "enabled" not in proxy or proxy["enabled"] is not False
            gate = proxy.get("enabled") is True or truthy(v["decode"].get("initContainers"))
            assert bool(inits) == gate, key
            if gate and emitted:
                assert inits[0]["name"] == "routing-proxy" and inits[0]["args"] == _doc_proxy_args(v), key
        warning = (obj["metadata"].get("annotations") or {}).get("llm-d.ai/accelerator-warning")
        assert warning == _doc_warning(v, role), key
        claims = _doc_claims(v, role)
        assert (pod.get("resourceClaims") or []) == claims, key
        items = v[role].get("containers") or []
        for item, ctr in zip(items, pod.get("containers") or [], strict=True):
            assert ctr["resources"].get("claims", []) == [{"name": c["name"]} for c in claims], key
            env = {e["name"]: e.get("value") for e in ctr["env"]}
            assert (env["TP_SIZE"], env["DP_SIZE"], env["DP_SIZE_LOCAL"]) == (str(tp), str(dp), str(dpl)), key
            if item.get("modelCommand") in ("vllmServe", "imageDefault"):
                args = ctr["args"]
                assert args[args.index("--port") + 1] == _doc_vllm_port(v, role), key
                assert args[args.index("--served-model-name") + 1] == str(v["modelArtifacts"]["name"]), key
            gpus, res = dpl * tp, _doc_resource_name(v, role, item)
            user = item.get("resources") or {}
            for side in ("limits", "requests"):
                want = dict(user.get(side) or {})
                if not _doc_dra(v, role) and gpus >= 1 and res and res not in want:
                    want[res] = str(gpus)
                assert (ctr["resources"].get(side) or {}) == want, (key, side)


def names_common_labels() -> dict[str, str]:
    """CL of §3."""
    return {"helm.sh/chart": "llm-d-modelservice-v0.4.12", "app.kubernetes.io/version": "v0.4.0",
            "app.kubernetes.io/managed-by": "Helm"}


@MODEL_ONLY
@given(s.chart_values(), s.release_names(), s.namespaces())
def test_generated_values_are_accepted_and_the_model_follows_the_documented_rules(workdir, user, release, namespace):
    """The strategies draw only values the chart accepts (schema-valid, read back as Helm reads
    them, rendered without refusal), and the model renders them as the document says."""
    with workdir() as tmp:
        path = Path(tmp) / "values.yaml"
        path.write_text(yaml.safe_dump(user, sort_keys=False), encoding="utf-8")
        assert values.load_user_values(path) == user
        effective = values.effective_values(path, VERSION)  # validates against the chart's schema
    assert_model_follows_the_documented_rules(effective, release, namespace)  # ChartRefusal where Helm refuses


# --- known bugs: minimal reproductions ------------------------------------------------------------

def _known_bug_case(bug: str, user: dict[str, Any], release: str = "rel", namespace: str = "llm-d") -> Any:
    return pytest.param(user, release, namespace, id=bug,
                        marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUG_REASONS[bug]))


@pytest.mark.parametrize("user, release, namespace", [
    _known_bug_case("number-printed-in-exponent-form", {"decode": {"terminationGracePeriodSeconds": 1234567}}),
    _known_bug_case("numeric-namespace", {"decode": {"monitoring": {"podmonitor": {"enabled": True}}}}, namespace="5"),
])
def test_known_bug(migrate_case, user, release, namespace):
    migrate_case(user, release=release, namespace=namespace)


def test_an_extra_object_keeps_its_own_namespace(cli, kustomize_bin, tmp_path):
    """Objects with a namespace of their own keep it; the rest get the release namespace
    (an unsetOnly NamespaceTransformer instead of `namespace:`)."""
    m = migrate_values(cli, kustomize_bin, tmp_path, {"extraObjects": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "shared"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm2"}}]}, "rel", "llm-d")
    assert_overlay_invariants(m)
    assert_equivalent_to_chart(m)
    namespaces = {(o["kind"], o["metadata"]["name"]): o["metadata"].get("namespace")
                  for o in yaml.safe_load_all(m.built) if o}
    assert namespaces.pop(("ConfigMap", "cm")) == "shared"
    assert set(namespaces.values()) == {"llm-d"}
    assert "namespace" not in m.kustomization and len(m.kustomization["transformers"]) == 1
    assert overlay_namespace(m.out) == "llm-d"  # what the pre-commit hook verifies it in


@pytest.mark.parametrize("kind, name", sorted(LIBRARY_OBJECTS))
@pytest.mark.parametrize("namespace", ["llm-d", "shared"])
def test_an_extra_object_named_like_a_library_object(cli, kustomize_bin, tmp_path, kind, name, namespace):
    """It goes in under a stand-in name and gets its own name after every other transformer;
    the library's local-config ConfigMap is moved out of its way first."""
    extra = {"apiVersion": "apps/v1" if kind == "Deployment" else "v1", "kind": kind,
             "metadata": {"name": name, **({"namespace": namespace} if namespace != "llm-d" else {})}}
    m = migrate_values(cli, kustomize_bin, tmp_path, {"extraObjects": [extra]}, "rel", "llm-d")
    assert_overlay_invariants(m)
    assert_equivalent_to_chart(m)
    built = [o for o in yaml.safe_load_all(m.built) if o and (o["kind"], o["metadata"]["name"]) == (kind, name)]
    assert [o["metadata"].get("namespace") for o in built] == [namespace]


@pytest.mark.parametrize("namespace", ["llm-d", "team-b"])
def test_a_reference_to_an_extra_object_named_like_a_library_object_stays(cli, kustomize_bin, tmp_path, namespace):
    """The library's ConfigMap steps aside by namespace, not by name, so Kustomize does not
    rewrite references to its name (a Pod of the release using the extra ConfigMap)."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
           "spec": {"containers": [{"name": "c", "image": "busybox",
                                    "envFrom": [{"configMapRef": {"name": "model-config"}}]}]}}
    extra = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "model-config"}, "data": {"a": "b"}}
    m = migrate_values(cli, kustomize_bin, tmp_path, {"extraObjects": [extra, pod]}, "rel", namespace)
    assert_equivalent_to_chart(m)
    built = {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(m.built) if o}
    assert built[("Pod", "user")]["spec"]["containers"][0]["envFrom"] == [{"configMapRef": {"name": "model-config"}}]


def test_every_known_bug_has_a_reason():
    assert set(KNOWN_BUGS) <= set(KNOWN_BUG_REASONS)


@pytest.mark.xfail(strict=True, reason=KNOWN_BUG_REASONS["requester-without-literals"])
def test_known_bug_requester_without_literals(cli, kustomize_bin, tmp_path):
    m = migrate_values(cli, kustomize_bin, tmp_path, {"requester": {"enable": True}, "prefill": {"create": False}},
                       "rel", "llm-d")
    assert literals(m).get("modelName") == "random/model"
    assert_literals_drive_the_workloads(m)
