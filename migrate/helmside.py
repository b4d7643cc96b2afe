"""The Helm side of a migration: the objects the overlay is fitted to and checked against.

Three sources, in order of preference (DESIGN "Where the Helm side comes from"):

1. a rendered manifest (``--verify-against``: ``helm get manifest`` or ``helm template``
   output), which also names the chart version in its ``helm.sh/chart`` labels;
2. ``helm template`` of a chart with real Helm (``--chart``, with ``--chart-version`` as
   Helm's ``--version`` for a repository or ``oci://`` reference);
3. the tool's own chart model (``migrate/chart/``), offline, only for the versions it models.

Every source gives a :class:`HelmSide`; the fit aims at its objects and ``verify`` compares with
them, so a model of the chart never overrides a real render that is at hand.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from migrate.errors import InputError, ToolError
from migrate.resources import CHART, supported_chart_versions

if TYPE_CHECKING:
    from migrate.manifests import Objects
    from migrate.options import ToolOptions

# The versions the offline chart model renders, checked against real Helm renders.
MODELLED_VERSIONS = ("v0.4.12",)
CHART_LABEL = "helm.sh/chart"
_CHART_LABEL_VALUE = re.compile(rf"^{re.escape(CHART)}-(v?\d+\.\d+\.\d+)$")


@dataclass(frozen=True)
class HelmSide:
    """What Helm renders for the release, and where that came from."""

    objects: Objects
    source: str  # e.g. "manifest current-manifest.yaml", "helm template ./chart"
    version: str | None  # the chart version the render names in its labels
    real: bool = True  # False: the offline chart model, not checked against Helm

    @property
    def described(self) -> str:
        """How reports name the source."""
        return self.source if self.real else f"{self.source}; not checked against Helm"

    def targets(self) -> list[dict]:
        return list(self.objects.values())


def from_manifest(path: Path) -> HelmSide:
    """A rendered manifest file (``helm get manifest`` / ``helm template`` output)."""
    from migrate.manifests import load_manifest

    objects = load_manifest(path)
    if not objects:
        raise InputError("the manifest holds no objects; pass `helm get manifest RELEASE` output", file=str(path))
    return HelmSide(objects, f"manifest {path}", labelled_version(objects, str(path)))


def from_chart(chart: str, values: Path | None, release: str, namespace: str | None,
               version: str | None, tools: ToolOptions) -> HelmSide:
    """``helm template`` of ``chart`` with real Helm, for the user's values."""
    from migrate import tools as tool_runner
    from migrate.manifests import parse_manifest

    check_chart_reference(chart)
    with tempfile.TemporaryDirectory(prefix="h2k-values-") as scratch:
        copy = None
        if values is not None:
            # `helm get values` output starts with a header line that Helm itself cannot read.
            copy = Path(scratch) / "values.yaml"
            copy.write_text(_values_text(values), encoding="utf-8")
        local = Path(chart).exists()  # a local chart has one version; a reference takes --version
        try:
            text = tool_runner.helm_template(chart, copy, release, namespace, tools.helm,
                                             version=None if local else version)
        except ToolError as exc:
            if copy is None:
                raise
            # Name the user's values file, not the copy, which is gone once this returns.
            exc.args = (str(exc).replace(str(copy), str(values)),)  # the same error, of the same kind
            raise
    source = f"helm template {chart}"
    objects = parse_manifest(text, source=source)
    return HelmSide(objects, source, labelled_version(objects, source))


def _values_text(path: Path) -> str:
    """The values file as Helm reads it: without the ``helm get values`` header line, read
    within the values size limit."""
    from migrate.commands.verify import without_header
    from migrate.reading import TooLarge, read_limited
    from migrate.values import MAX_VALUES_BYTES

    try:
        return without_header(read_limited(path, MAX_VALUES_BYTES).decode("utf-8"))
    except TooLarge:
        raise InputError(f"values file is over the {MAX_VALUES_BYTES // 2**20} MiB limit", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read: {getattr(exc, 'strerror', None) or exc}", file=str(path)) from exc


def check_chart_reference(chart: str) -> None:
    """A local chart must exist (exit 2 here, not Helm's failure as exit 3)."""
    is_reference = chart.startswith("oci://") or (
        "/" in chart and not chart.startswith((".", "/", "~")) and not Path(chart).exists()
        and chart.count("/") == 1)
    if not is_reference and not Path(chart).exists():
        raise InputError("chart not found: give a chart directory, a .tgz, a repo/name or an oci:// reference",
                         file=chart)


def labelled_version(objects: Objects, source: str) -> str | None:
    """The chart version in the objects' ``helm.sh/chart`` labels; None when none carries one.
    Two different versions in one render are an error (it is not one release)."""
    found: set[str] = set()
    for obj in objects.values():
        for labels in _label_maps(obj):
            value = labels.get(CHART_LABEL)
            match = _CHART_LABEL_VALUE.match(value) if isinstance(value, str) else None
            if match:
                found.add(_v(match.group(1)))
    if len(found) > 1:
        raise InputError(f"objects of several chart versions ({', '.join(sorted(found))}); give one release's "
                         "manifest", file=source)
    return found.pop() if found else None


def _label_maps(obj: dict) -> list[dict]:
    maps = []
    meta = obj.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
        maps.append(meta["labels"])
    return maps


def _v(version: str) -> str:
    return version if version.startswith("v") else f"v{version}"


def resolve_version(requested: str | None, side: HelmSide | None) -> str:
    """The chart version to migrate from: the render's labels, else ``--chart-version``, else
    the newest. A ``--chart-version`` that contradicts the render is an error."""
    supported = supported_chart_versions()
    wanted = _v(requested) if requested else None
    if wanted is not None and wanted not in supported:
        raise InputError(f"chart version {requested!r} is not a release of {CHART}; supported: "
                         f"{supported[0]} to {supported[-1]} (see --chart-version --help)", key="--chart-version")
    labelled = side.version if side is not None else None
    if side is not None and labelled is None:
        raise InputError(f"no object of the render carries a {CHART_LABEL}: {CHART}-<version> label; this is not "
                         f"a render of {CHART}", file=_file_of(side))
    if labelled is not None:
        if labelled not in supported:
            raise InputError(f"the render is of {CHART} {labelled}, which this tool does not know; supported: "
                             f"{supported[0]} to {supported[-1]}", file=_file_of(side))
        if wanted is not None and wanted != labelled:
            raise InputError(f"--chart-version {wanted} contradicts the render's {CHART_LABEL} labels "
                             f"({CHART}-{labelled}); drop the option or give the matching render",
                             key="--chart-version")
        return labelled
    return wanted or supported[-1]


def _file_of(side: HelmSide) -> str:
    return side.source.removeprefix("manifest ").removeprefix("helm template ")


def require_model(version: str, explicit: bool) -> None:
    """No render at hand: only a version the chart model covers can be migrated."""
    if version in MODELLED_VERSIONS:
        return
    raise InputError(
        f"no offline chart model for {CHART} {version} (the model covers {', '.join(MODELLED_VERSIONS)}); "
        "give the release's render with --verify-against MANIFEST (`helm get manifest RELEASE`), "
        f"or render the chart with real Helm: --chart CHART{'' if explicit else ' --chart-version ' + version}",
        key="--chart-version")


def versions_accepting(effective_for: callable) -> list[str]:
    """The chart versions whose values schema accepts the values (``effective_for(version)``
    merges the values with that version's defaults and validates, raising InputError)."""
    accepted = []
    for version in supported_chart_versions():
        try:
            effective_for(version)
        except InputError:
            continue
        accepted.append(version)
    return accepted


def ranges(versions: list[str]) -> str:
    """``v0.3.0–v0.3.18, v0.4.2`` for runs of consecutive releases."""
    order = supported_chart_versions()
    runs: list[list[str]] = []
    for version in versions:
        if runs and order.index(version) == order.index(runs[-1][-1]) + 1:
            runs[-1].append(version)
        else:
            runs.append([version])
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]}–{run[-1]}" for run in runs)
