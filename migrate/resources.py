"""Locate the data shipped with the package: mapping tables, schemas, the Kustomize library.

In a wheel they live in ``migrate/_data``; in a source checkout they are the
top-level folders ``mappings/``, ``schemas/`` and ``kustomize/``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CHART = "llm-d-modelservice"


@lru_cache(maxsize=None)
def data_dir(name: str) -> Path:
    """Return the directory of shipped data ``name`` (mappings, schemas or kustomize)."""
    packaged = Path(__file__).resolve().parent / "_data" / name  # the package is never zipped: Kustomize reads these
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / name


def supported_chart_versions() -> list[str]:
    """Chart versions with a mapping table, oldest first."""
    root = data_dir("mappings") / CHART
    return sorted((p.name for p in root.iterdir() if p.is_dir()), key=_version_key)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.lstrip("v").split(".") if part.isdigit())


def chart_defaults_path(version: str) -> Path:
    return data_dir("mappings") / CHART / version / "values.yaml"


def chart_schema_path(version: str) -> Path:
    return data_dir("schemas") / CHART / version / "values.schema.json"
