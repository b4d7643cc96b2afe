"""Plain parse results of the command line: the CLI fills them, the commands read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ToolOptions:
    """Explicit programs (``--kustomize``, ``--helm``); None means discover them."""

    kustomize: str | None = None
    helm: str | None = None


@dataclass(frozen=True)
class VerifyOptions:
    overlay: Path
    manifest: Path | None = None
    chart: str | None = None
    values: Path | None = None
    release: str | None = None
    namespace: str | None = None
    format: str = "text"
    report: Path | None = None
    tools: ToolOptions = field(default_factory=ToolOptions)
    disabled_rules: frozenset[str] = frozenset()
    color: bool = False
    debug: bool = False


@dataclass(frozen=True)
class MigrateOptions:
    values: Path
    output: Path
    release: str | None = None
    namespace: str | None = None
    chart_version: str | None = None
    force: bool = False
    verify_against: Path | None = None
    chart: str | None = None
    allow_unmapped: bool = False
    report: Path | None = None
    format: str = "text"
    tools: ToolOptions = field(default_factory=ToolOptions)
    color: bool = False
    debug: bool = False
    quick_schema_check: bool = True  # values.validate(quick=...); batch: False
