"""fit: literals the library refuses are left to patches, and the overlay still fits."""

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


def test_refused_literals_fall_back_to_patches(tmp_path):
    values = effective_values(FIXTURES / "single-node-nvidia" / "values.yaml")
    targets = render(values, "single", "llm-d")
    plan = Plan("v0.4.12", "single", "llm-d", "nvidia", ["routing-proxy", "model-config"],
                {"modelName": "facebook/opt-125m"})
    staging = tmp_path / "single"
    staging.mkdir()
    overlay = ov.Overlay(plan, library.reference(staging, ROOT / "kustomize"))

    def build(directory: Path) -> str:
        if "modelName=" in (directory / "kustomization.yaml").read_text():
            raise CommandFailed(["kustomize", "build"], 1, "", "options.index 1 is out of bounds")
        return tools.kustomize_build(directory)

    fitted = fit.fit(staging, overlay, targets, fullname(values, "single"), load_table("v0.4.12"), build)
    assert fitted.residual == []
    assert plan.literals == {} and "refused the literals (modelName)" in plan.warnings[0]


def test_refused_components_fall_back_to_patches(tmp_path):
    values = effective_values(FIXTURES / "monitoring" / "values.yaml")
    targets = render(values, "mon", "default")
    plan = Plan("v0.4.12", "mon", None, "nvidia", ["routing-proxy", "monitoring", "model-config"], {})
    staging = tmp_path / "mon"
    staging.mkdir()
    overlay = ov.Overlay(plan, library.reference(staging, ROOT / "kustomize"))

    def build(directory: Path) -> str:
        if "components/monitoring" in (directory / "kustomization.yaml").read_text():
            raise CommandFailed(["kustomize", "build"], 1, "", "add operation does not apply")
        return tools.kustomize_build(directory)

    fitted = fit.fit(staging, overlay, targets, fullname(values, "mon"), load_table("v0.4.12"), build)
    assert fitted.residual == []
    assert plan.components == ["model-config"]
    assert "refused the components (routing-proxy, monitoring, model-config)" in plan.warnings[0]
