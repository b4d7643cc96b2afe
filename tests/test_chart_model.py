"""The chart model against real Helm output (fixtures) and the spec's tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from migrate import chart
from migrate.chart import render
from migrate.errors import ChartRefusal
from migrate.values import effective_values, merge_defaults
from migrate.yamlio import load_helm
from migrate.resources import chart_defaults_path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "llm-d-modelservice" / "v0.4.12"
CASES = yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]
DROPPED_LABELS = {"helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version"}


def normalise(obj: Any, top: bool = True) -> Any:
    """Drop Helm bookkeeping labels, metadata.namespace and empty values (recursively)."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if key == "labels" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k not in DROPPED_LABELS}
            if top and key == "metadata" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "namespace"}
            value = normalise(value, top=False)
            if value is None or value == {} or value == []:
                continue
            out[key] = value
        return out
    if isinstance(obj, list):
        return [normalise(v, top=False) for v in obj]
    return obj


def by_identity(objects: list[Any]) -> dict[tuple[str, str], Any]:
    return {(o["kind"], o["metadata"]["name"]): normalise(o) for o in objects}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_case(case: dict[str, str]) -> None:
    folder = FIXTURES / case["name"]
    values = effective_values(folder / "values.yaml")
    got = by_identity(render(values, case["release"], case["namespace"]))
    expected_docs = [d for d in yaml.safe_load_all((folder / "manifest.yaml").read_text()) if d]
    expected = by_identity(expected_docs)
    assert sorted(got) == sorted(expected)
    for ident, obj in expected.items():
        assert got[ident] == obj, ident


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fixture_document_order(case: dict[str, str]) -> None:
    folder = FIXTURES / case["name"]
    values = effective_values(folder / "values.yaml")
    got = [(o["kind"], o["metadata"]["name"]) for o in render(values, case["release"], case["namespace"])]
    docs = [d for d in yaml.safe_load_all((folder / "manifest.yaml").read_text()) if d]
    assert got == [(d["kind"], d["metadata"]["name"]) for d in docs]
