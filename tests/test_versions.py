"""Every chart release: the version comes from the render, the fit aims at the render, and an
old release is never migrated as if it were the newest chart.

Each version's fixtures (``fixtures/llm-d-modelservice/<version>/``) are real Helm renders of
that release's chart. The default run migrates a sample of every version; ``-m slow`` (``make
test-all``) migrates every case.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from migrate import tools
from migrate import values as values_module
from migrate.mapping import load_table
from migrate.plan import account
from migrate.resources import supported_chart_versions

ALL = ROOT / "fixtures" / "llm-d-modelservice"
VERSIONS = supported_chart_versions()
SAMPLE_PER_VERSION = 4


def _cases(version: str) -> list[dict]:
    return yaml.safe_load((ALL / version / "cases.yaml").read_text())["cases"]


def _sample(version: str) -> list[dict]:
    """The defaults case, the chart's own examples first, then the one-feature cases, spread out."""
    cases = _cases(version)
    upstream = [c for c in cases if c["name"].startswith(("upstream-", "example-"))]
    others = [c for c in cases if c not in upstream and c["name"] != "defaults"]
    picked = [c for c in cases if c["name"] == "defaults"] + upstream[:2]
    step = max(1, len(others) // max(1, SAMPLE_PER_VERSION - len(picked)))
    return picked + others[::step][: max(0, SAMPLE_PER_VERSION - len(picked))]


SAMPLED = [(v, c) for v in VERSIONS for c in _sample(v)]
EVERY = [(v, c) for v in VERSIONS for c in _cases(v) if (v, c) not in SAMPLED]


def _extra_count(values_file: Path) -> int:
    user = values_module.load_user_values(values_file)
    items = user.get("extraObjects")
    return len(items) if isinstance(items, (list, dict)) else 0


def _name(version: str, case: dict) -> str:
    return f"{version}-{case['name']}"


class Sweep:
    """The cases of a sweep migrated as a fleet is: one ``batch`` over all of them (their renders
    shared in few Kustomize processes), then every overlay built again, independently of the
    migration, in as few Kustomize processes (``fleetbuild.build_all``, whose results are each
    overlay's own build). Run on first use; each case's test then checks its own outcome."""

    def __init__(self, pairs: list[tuple[str, dict]], work: Path, kustomize: str) -> None:
        self.pairs, self.work, self.kustomize = pairs, work, kustomize
        self._results: dict[str, tuple] | None = None

    def result(self, version: str, case: dict) -> tuple:
        if self._results is None:
            self._results = self._run()
        return self._results[_name(version, case)]

    def _run(self) -> dict[str, tuple]:
        import io

        from migrate import fleetbuild
        from migrate.commands import batch

        renders = self.work / "renders"
        renders.mkdir(parents=True)
        entries = []
        for version, case in self.pairs:
            name = _name(version, case)
            shutil.copyfile(ALL / version / case["name"] / "manifest.yaml", renders / f"{name}.yaml")
            entries.append({"file": f"{version}/{case['name']}/values.yaml", "name": name, "release": case["release"],
                            "namespace": case["namespace"]})
        index = self.work / "index.yaml"
        index.write_text(yaml.safe_dump(entries))
        fleet = batch.execute(batch.BatchOptions(values_dir=ALL, output=self.work / "overlays", index=index,
                                                 verify_against_dir=renders, progress=io.StringIO()))
        overlays = [Path(r.overlay) if r.overlay else None for r in fleet.results]
        built = fleetbuild.build_all([o for o in overlays if o is not None], self.kustomize)
        by_overlay = dict(zip([o for o in overlays if o is not None], built))
        return {r.job.name: (r, by_overlay.get(o)) for r, o in zip(fleet.results, overlays)}


@pytest.fixture(scope="module")
def sampled(tmp_path_factory, kustomize_bin) -> Sweep:
    return Sweep(SAMPLED, tmp_path_factory.mktemp("sampled"), kustomize_bin)


@pytest.fixture(scope="module")
def every(tmp_path_factory, kustomize_bin) -> Sweep:
    return Sweep(EVERY, tmp_path_factory.mktemp("every"), kustomize_bin)


def _check_case(sweep: Sweep, version: str, case: dict) -> None:
    """One case migrated against its own render: equivalent (our verify, and the built overlay
    object by object), fitted to that release's render, and no chart object in objects.yaml."""
    from migrate.compare import compare
    from migrate.manifests import parse_manifest

    directory = ALL / version / case["name"]
    result, built = sweep.result(version, case)
    assert result.exit_code == 0, f"{version}/{case['name']}: {result.message}"
    assert result.verification is not None and result.verification.equivalent
    report = result.migration
    assert (report["chartVersion"], report["release"]) == (version, case["release"])
    assert report["fittedTo"].startswith("manifest ") and report["checkedAgainstHelm"] is True
    assert isinstance(built, str), built
    helm = parse_manifest((directory / "manifest.yaml").read_text(), source="helm")
    verdict = compare(helm, parse_manifest(built, source="kustomize"), case["namespace"])
    assert verdict.equivalent, [o.id for o in verdict.not_equal()]
    objects = Path(result.overlay) / "objects.yaml"
    raw = [d for d in yaml.safe_load_all(objects.read_text()) if d] if objects.exists() else []
    assert len(raw) <= _extra_count(directory / "values.yaml"), [o["kind"] for o in raw]


@pytest.mark.parametrize(("version", "case"), SAMPLED, ids=[f"{v}/{c['name']}" for v, c in SAMPLED])
def test_a_sample_of_every_release_migrates_equivalent(sampled, version, case):
    _check_case(sampled, version, case)


@pytest.mark.slow
@pytest.mark.parametrize(("version", "case"), EVERY, ids=[f"{v}/{c['name']}" for v, c in EVERY])
def test_every_case_of_every_release_migrates_equivalent(every, version, case):
    _check_case(every, version, case)


def test_every_release_from_v0_2_0_to_v0_4_12_is_supported():
    assert len(VERSIONS) == 48
    assert VERSIONS[0] == "v0.2.0" and VERSIONS[-1] == "v0.4.12"
    assert "v0.2.2" not in VERSIONS  # never released
    assert sorted(p.name for p in ALL.iterdir() if p.is_dir()) == sorted(VERSIONS)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_fixture_value_is_accounted_for_by_its_own_release(version):
    """Each leaf is mapped or equal to that release's default; none is unmapped, and none is a
    key the chart does not read that resembles one it reads (a misspelling)."""
    table, defaults = load_table(version), values_module.load_defaults(version)
    for case in _cases(version):
        user = values_module.load_user_values(ALL / version / case["name"] / "values.yaml")
        wrong = [(leaf.path, leaf.status) for leaf in account(table, user, defaults)
                 if leaf.status == "unmapped" or (leaf.status == "ignored" and leaf.hint)]
        assert not wrong, f"{case['name']}: {wrong}"


def test_the_version_comes_from_the_manifest_labels(cli, tmp_path):
    case = ALL / "v0.3.5" / "defaults"
    report = tmp_path / "report.json"
    result = cli(case / "values.yaml", "-o", tmp_path / "ms", "--namespace", "default",
                 "--verify-against", case / "manifest.yaml", "--report", report)
    assert result.exit_code == 0, result.stderr
    assert "llm-d-modelservice v0.3.5, fitted to manifest" in result.stdout
    header = (tmp_path / "ms" / "kustomization.yaml").read_text()
    assert "from llm-d-modelservice v0.3.5 values" in header
    assert f"Fitted to: manifest {case / 'manifest.yaml'}." in header
    data = json.loads(report.read_text())
    assert data["chartVersion"] == "v0.3.5" and data["checkedAgainstHelm"] is True


def test_a_chart_version_that_contradicts_the_manifest_is_refused(cli, tmp_path):
    case = ALL / "v0.3.5" / "defaults"
    result = cli(case / "values.yaml", "-o", tmp_path / "ms", "--chart-version", "v0.4.12",
                 "--verify-against", case / "manifest.yaml")
    assert result.exit_code == 2
    assert "--chart-version: --chart-version v0.4.12 contradicts the render's helm.sh/chart labels " \
           "(llm-d-modelservice-v0.3.5)" in result.stderr
    assert not (tmp_path / "ms").exists()


@pytest.mark.parametrize("version", ["v0.2.0", "0.3.5", "v0.4.11"])
def test_an_old_release_without_a_render_is_refused_naming_both_ways_out(cli, tmp_path, version):
    result = cli(ALL / "v0.4.12" / "defaults" / "values.yaml", "-o", tmp_path / "ms", "--chart-version", version)
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "no offline chart model for llm-d-modelservice v" in line
    assert "--verify-against MANIFEST" in line and "--chart CHART" in line
    assert len(line.splitlines()) == 1
    assert not (tmp_path / "ms").exists()


def test_a_version_that_is_no_release_is_refused(cli, tmp_path):
    result = cli(ALL / "v0.4.12" / "defaults" / "values.yaml", "-o", tmp_path / "ms", "--chart-version", "v0.2.2")
    assert result.exit_code == 2
    assert "is not a release of llm-d-modelservice; supported: v0.2.0 to v0.4.12" in result.stderr


@pytest.mark.parametrize(
    ("values", "versions"),
    [
        ("dra:\n  enabled: true\n  type: nvidia\n", "v0.3.1–v0.3.18"),
        ("routing:\n  modelName: some/model\n", "v0.2.0–v0.2.1"),
        ("routing:\n  epp:\n    replicas: 2\n", "v0.2.0–v0.2.16"),
    ],
    ids=["pre-v0.4-dra", "v0.2-model-name", "v0.2-gateway"],
)
def test_values_only_an_older_release_takes_get_a_hint_naming_it(cli, tmp_path, values, versions):
    path = tmp_path / "values.yaml"
    path.write_text(values)
    result = cli(path, "-o", tmp_path / "ms")
    assert result.exit_code == 2
    assert f"these values fit chart {versions}: give the release's render with --verify-against" in result.stderr
    assert not (tmp_path / "ms").exists()


def test_the_offline_model_says_it_was_not_checked_against_helm(cli, tmp_path):
    report = tmp_path / "report.json"
    result = cli(ALL / "v0.4.12" / "defaults" / "values.yaml", "-o", tmp_path / "ms", "--report", report)
    assert result.exit_code == 0, result.stderr
    assert "fitted to offline chart model; not checked against Helm" in result.stdout
    assert "Fitted to: offline chart model; not checked against Helm." in (tmp_path / "ms" / "kustomization.yaml").read_text()
    assert json.loads(report.read_text())["checkedAgainstHelm"] is False


def _chart_that_renders(tmp_path: Path, manifest: Path, version: str) -> Path:
    """A chart named llm-d-modelservice whose one template prints a recorded render: real Helm
    then renders exactly that release (the chart's own templates are not part of this project)."""
    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(f"apiVersion: v2\nname: llm-d-modelservice\nversion: {version}\n")
    shutil.copy(manifest, chart / "rendered.yaml")
    (chart / "templates" / "all.yaml").write_text('{{ .Files.Get "rendered.yaml" }}\n')
    return chart


def test_chart_renders_the_helm_side_with_real_helm(cli, tmp_path):
    case = ALL / "v0.2.16" / "defaults"
    chart = _chart_that_renders(tmp_path, case / "manifest.yaml", "v0.2.16")
    result = cli(case / "values.yaml", "-o", tmp_path / "ms", "--namespace", "default", "--chart", chart)
    assert result.exit_code == 0, result.stderr
    assert f"llm-d-modelservice v0.2.16, fitted to helm template {chart}" in result.stdout
    assert "verify: equivalent" in result.stdout
    components = yaml.safe_load((tmp_path / "ms" / "kustomization.yaml").read_text())["components"]
    assert any(c.endswith("components/gateway/epp") for c in components)


def test_chart_version_must_match_what_the_chart_renders(cli, tmp_path):
    case = ALL / "v0.2.16" / "defaults"
    chart = _chart_that_renders(tmp_path, case / "manifest.yaml", "v0.2.16")
    result = cli(case / "values.yaml", "-o", tmp_path / "ms", "--chart", chart, "--chart-version", "v0.2.15")
    assert result.exit_code == 2
    assert "contradicts the render's helm.sh/chart labels (llm-d-modelservice-v0.2.16)" in result.stderr


def test_a_chart_path_that_does_not_exist_is_bad_input(cli, tmp_path):
    result = cli(ALL / "v0.4.12" / "defaults" / "values.yaml", "-o", tmp_path / "ms", "--chart", tmp_path / "nope")
    assert result.exit_code == 2
    assert "chart not found" in result.stderr


def test_a_v0_2_release_is_built_of_gateway_components_not_raw_objects(cli, tmp_path):
    case = ALL / "v0.2.9" / "defaults"
    result = cli(case / "values.yaml", "-o", tmp_path / "ms", "--namespace", "default",
                 "--verify-against", case / "manifest.yaml")
    assert result.exit_code == 0, result.stderr
    kustomization = yaml.safe_load((tmp_path / "ms" / "kustomization.yaml").read_text())
    used = {re.sub(r"^.*components/", "", c) for c in kustomization["components"]}
    assert {"gateway/epp", "gateway/epp-plugins-config", "gateway/inference-pool", "gateway/http-route",
            "legacy/serving-label"} <= used
    assert not (tmp_path / "ms" / "objects.yaml").exists()
    assert "modelLabel=ms-llm-d-modelservice" in kustomization["configMapGenerator"][0]["literals"]


def test_a_template_the_chart_model_cannot_evaluate_does_not_stop_a_migration_with_a_render(cli, tmp_path):
    """Offline, `{{ if }}` inside values is refused (the model does not implement it); with the
    release's render at hand the render has the word, and the migration goes on."""
    case = ALL / "v0.4.12" / "defaults"
    values = tmp_path / "values.yaml"
    values.write_text("modelArtifacts:\n  uri: 'hf://{{ if true }}random/model{{ end }}'\n")
    offline = cli(values, "-o", tmp_path / "offline")
    assert offline.exit_code == 2
    result = cli(values, "-o", tmp_path / "ms", "--namespace", "default", "--verify-against", case / "manifest.yaml")
    assert result.exit_code == 0, result.stderr
    assert "verify: equivalent" in result.stdout
