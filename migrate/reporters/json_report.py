"""JSON, valid against ``schemas/verify-report.schema.json``."""

from __future__ import annotations

import json
from typing import Any

from migrate.compare import Change, Difference, ObjectResult, Result
from migrate.reporters.base import Reporter

SCHEMA_VERSION = 1


class JsonReporter(Reporter):
    name = "json"
    suffix = ".json"

    def render(self, result: Result) -> str:
        return json.dumps(as_dict(result), indent=2, default=str) + "\n"


def as_dict(result: Result) -> dict[str, Any]:
    return {
        "version": SCHEMA_VERSION,
        "equivalent": result.equivalent,
        "namespace": result.namespace,
        "rules": list(result.rules),
        "summary": {"objects": len(result.objects), **result.counts()},
        "objects": [_object(obj) for obj in result.objects],
        "notes": list(result.notes),
        "hints": list(result.hints),
    }


def _object(obj: ObjectResult) -> dict[str, Any]:
    return {
        "id": obj.id,
        "kind": obj.kind,
        "name": obj.name,
        "status": obj.status.value,
        "differences": [_difference(diff) for diff in obj.differences],
    }


def _difference(diff: Difference) -> dict[str, Any]:
    out: dict[str, Any] = {"path": diff.path, "named": diff.where, "change": diff.change.value}
    if diff.kustomize_path is not None:
        out["kustomizePath"] = diff.kustomize_path
    if diff.change is not Change.ONLY_KUSTOMIZE:
        out["helm"] = diff.helm
    if diff.change is not Change.ONLY_HELM:
        out["kustomize"] = diff.kustomize
    return out
