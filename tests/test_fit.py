"""fit: what the library refuses is left to patches, and the overlay still fits."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, ROOT
from migrate import fit, library, tools
from migrate import overlay as ov
from migrate.chart import fullname, render
from migrate.mapping import load_table
from migrate.plan import Plan
from migrate.tools import CommandFailed
from migrate.values import effective_values


def _fit_refusing(tmp_path: Path, case: str, release: str, plan: Plan, refused: str) -> fit.Fit:
    """Fit ``case`` with a Kustomize that fails while the kustomization mentions ``refused``."""
    values = effective_values(FIXTURES / case / "values.yaml")
    staging = tmp_path / release
    staging.mkdir()
    overlay = ov.Overlay.from_plan(plan, library.reference(staging, ROOT / "kustomize"))

    def build(directory: Path) -> str:
        if refused in (directory / "kustomization.yaml").read_text():
            raise CommandFailed(["kustomize", "build"], 1, "", "options.index 1 is out of bounds")
        return tools.kustomize_build(directory)

    return fit.fit(staging, overlay, render(values, release, "default"), fullname(values, release),
                   load_table("v0.4.12"), build)


def test_refused_literals_fall_back_to_patches(tmp_path):
    plan = Plan("v0.4.12", "single", None, "nvidia", ["routing-proxy", "model-config"],
                {"modelName": "facebook/opt-125m"})
    fitted = _fit_refusing(tmp_path, "single-node-nvidia", "single", plan, "modelName=")
    assert fitted.residual == []
    assert fitted.literals == {} and "refused the literals (modelName)" in fitted.warnings[0]
    assert plan.literals == {"modelName": "facebook/opt-125m"} and plan.warnings == []  # the plan stays as planned


def test_refused_components_fall_back_to_patches(tmp_path):
    plan = Plan("v0.4.12", "mon", None, "nvidia", ["routing-proxy", "monitoring", "model-config"], {})
    fitted = _fit_refusing(tmp_path, "monitoring", "mon", plan, "components/monitoring")
    assert fitted.residual == []
    assert fitted.components == ["model-config"]
    assert plan.components == ["routing-proxy", "monitoring", "model-config"]
    assert "refused the components (routing-proxy, monitoring, model-config)" in fitted.warnings[0]


def test_a_plan_cannot_be_changed_after_planning():
    import dataclasses

    import pytest

    plan = Plan("v0.4.12", "rel", None, "nvidia", [], {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.literals = {"modelName": "x"}


def test_a_difference_patching_cannot_close_gets_no_repeated_fix_patches(cli, tmp_path):
    """Kustomize writes 1234567.0 as 1234567: the fit's fix round cannot close that, and stops
    at once instead of writing the same operation again in fix patches."""
    values = tmp_path / "values.yaml"
    values.write_text("decode:\n  terminationGracePeriodSeconds: 1234567\n")
    result = cli(values, "-o", tmp_path / "out", "--release", "rel")
    assert result.exit_code == 1 and "NOT EQUIVALENT" in result.stdout + result.stderr
    assert not [p.name for p in (tmp_path / "out" / "patches").iterdir() if "-fix-" in p.name]


def test_a_stuck_object_does_not_keep_the_others_from_their_fixes():
    overlay = ov.Overlay.from_plan(Plan("v0.4.12", "rel", None, "nvidia", [], {}), "library")
    stuck_ops = [{"op": "replace", "path": "/spec/x", "value": 1.0}]
    overlay.patches = [ov.PatchFile("a-pod", "ConfigMap", "a", stuck_ops)]
    residual = {("ConfigMap", "a"): ({"kind": "ConfigMap", "spec": {"x": 1}}, {"kind": "ConfigMap", "spec": {"x": 1.0}}),
                ("ConfigMap", "b"): ({"kind": "ConfigMap", "spec": {"y": 1}}, {"kind": "ConfigMap", "spec": {"y": 2}})}
    assert fit._fix(overlay, residual, {})
    assert [(p.target, p.ops) for p in overlay.patches[1:]] == [("b", [{"op": "replace", "path": "/spec/y", "value": 2}])]


def test_an_insert_into_a_list_is_not_the_replace_at_that_index():
    assert fit._effect({"op": "add", "path": "/a/0", "value": 1}) != fit._effect({"op": "replace", "path": "/a/0", "value": 1})
    assert fit._effect({"op": "add", "path": "/a/k", "value": 1}) == fit._effect({"op": "replace", "path": "/a/k", "value": 1})


def test_a_refusal_is_reported_with_the_values_not_their_stand_ins(tmp_path):
    values = effective_values(FIXTURES / "single-node-nvidia" / "values.yaml")
    staging = tmp_path / "single"
    staging.mkdir()
    plan = Plan("v0.4.12", "single", "team", "nvidia", ["routing-proxy", "model-config"],
                {"modelName": "facebook/opt-125m"})
    overlay = ov.Overlay.from_plan(plan, library.reference(staging, ROOT / "kustomize"))

    def build(directory: Path) -> str:
        text = (directory / "kustomization.yaml").read_text()
        if "modelName=" in text:  # Kustomize quotes what it refused, as it reads it
            quoted = next(line for line in text.splitlines() if "modelName=" in line)
            raise CommandFailed(["kustomize", "build"], 1, "", f"refused {quoted.strip()} in namespace "
                                f"{next(l for l in text.splitlines() if l.startswith('namespace:'))}")
        return tools.kustomize_build(directory)

    warnings = fit.fit(staging, overlay, render(values, "single", "team"), fullname(values, "single"),
                       load_table("v0.4.12"), build, namespace="team").warnings
    assert "facebook/opt-125m" in warnings[0] and "namespace: team" in warnings[0]
    assert "h2k" not in warnings[0]


def test_an_overlay_written_again_has_exactly_its_new_files(tmp_path: Path) -> None:
    """The fit writes an overlay several times over: what a later write drops is gone, a changed
    file has its new text, and the result is the same as writing into an empty directory."""
    ops = [{"op": "replace", "path": "/data/a", "value": "1"}]
    first = ov.Overlay("nvidia", ["model-config"], {}, None, "../kustomize",
                       patches=[ov.PatchFile("one", "ConfigMap", "a", ops), ov.PatchFile("two", "ConfigMap", "b", ops)],
                       objects=[{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}])
    ov.write(first, tmp_path / "again")
    (tmp_path / "again" / "patches" / "stray.yaml").write_text("left by an earlier round\n")
    second = ov.Overlay("nvidia", ["model-config"], {}, None, "../kustomize", header=["a header"],
                        patches=[ov.PatchFile("two", "ConfigMap", "b", [{**ops[0], "value": "2"}])])
    ov.write(second, tmp_path / "again")
    ov.write(second, tmp_path / "fresh")

    def files(directory: Path) -> dict[str, str]:
        return {str(p.relative_to(directory)): p.read_text() for p in sorted(directory.rglob("*")) if p.is_file()}

    assert files(tmp_path / "again") == files(tmp_path / "fresh")
    assert sorted(files(tmp_path / "fresh")) == ["kustomization.yaml", "patches/two.yaml"]
    assert "value: '2'" in files(tmp_path / "fresh")["patches/two.yaml"]
    ov.write(ov.Overlay("nvidia", ["model-config"], {}, None, "../kustomize"), tmp_path / "again")
    assert sorted(files(tmp_path / "again")) == ["kustomization.yaml"] and not (tmp_path / "again" / "patches").exists()
