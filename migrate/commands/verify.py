"""``verify``: render both sides, normalise, diff, report. Exit 0 equivalent, 1 not."""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable
from pathlib import Path

from migrate.compare import Result, compare
from migrate.errors import EXIT_DIFFERENT, EXIT_OK, InputError, ToolError
from migrate.manifests import parse_manifest
from migrate.normalise import RULES
from migrate.options import VerifyOptions
from migrate.tools import Background, find_helm, helm_template, kustomize_build


def verify_objects(
    helm_text: str,
    kustomize_text: str,
    namespace: str | None = None,
    rules: Iterable[str] | None = None,
    *,
    helm_source: str = "helm manifest",
    kustomize_source: str = "kustomize output",
) -> Result:
    """Compare rendered Helm YAML with rendered Kustomize YAML; ``rules`` defaults to all."""
    helm = parse_manifest(helm_text, source=helm_source)
    kustomize = parse_manifest(kustomize_text, source=kustomize_source)
    return compare(helm, kustomize, namespace, rules)


def run(opts: VerifyOptions) -> int:
    """Render both sides at once (``helm template`` in the background), compare, report;
    what the options leave out is read off the overlay, and a failed comparison gets hints."""
    from migrate.hints import hints_for

    opts, notes = with_overlay_defaults(opts)
    if opts.chart is not None and opts.manifest is None:
        from migrate.helmside import check_chart_reference

        check_chart_reference(opts.chart)  # a wrong path is bad input (exit 2), not Helm's failure
    if opts.chart is not None and opts.manifest is None and Path(opts.overlay).is_dir():
        find_helm(opts.tools.helm)  # a missing Helm is named first, as without the overlap
        helm = Background(lambda: helm_side(opts))
        kustomize_text = kustomize_build(opts.overlay, opts.tools.kustomize)
        helm_text, helm_source = helm.result()
    else:
        helm_text, helm_source = helm_side(opts)
        kustomize_text = kustomize_build(opts.overlay, opts.tools.kustomize)
    rules = [rule for rule in RULES if rule not in opts.disabled_rules]
    helm_objects = parse_manifest(helm_text, source=helm_source)
    kustomize_objects = parse_manifest(kustomize_text, source="kustomize output")
    result = compare(helm_objects, kustomize_objects, opts.namespace, rules)
    result = dataclasses.replace(result, notes=tuple(notes), hints=hints_for(
        result, helm_objects, kustomize_objects, against="manifest" if opts.manifest else "chart",
        namespace=opts.namespace))
    write_reports(result, opts.format, opts.report, color=opts.color)
    return EXIT_OK if result.equivalent else EXIT_DIFFERENT


def with_overlay_defaults(opts: VerifyOptions) -> tuple[VerifyOptions, list[str]]:
    """Without --namespace, the overlay's ``namespace:``; with --chart and without --release,
    the overlay's release (its namePrefix, or the tool's ``# Command:`` header), else the
    basename of DIR. Each setting taken from the overlay is named in a note."""
    from migrate.hints import overlay_settings, settings_note

    notes: list[str] = []
    if not Path(opts.overlay).is_dir():
        return opts, notes
    settings = overlay_settings(opts.overlay)
    changes: dict[str, str] = {}
    if opts.namespace is None and settings.namespace:
        changes["namespace"] = settings.namespace
        notes.append(settings_note("namespace", settings.namespace, settings, "--namespace"))
    if opts.chart is not None and opts.manifest is None and opts.release is None:
        if settings.release:
            changes["release"] = settings.release
            notes.append(settings_note("release", settings.release, settings, "--release"))
        else:
            changes["release"] = Path(opts.overlay).resolve().name
            notes.append(f"release {changes['release']} from the overlay directory's name; pass --release to "
                         "override")
    return (dataclasses.replace(opts, **changes) if changes else opts), notes


def helm_side(opts: VerifyOptions) -> tuple[str, str]:
    """The Helm render: the manifest file, or ``helm template`` of the chart."""
    if (opts.manifest is None) == (opts.chart is None):
        raise InputError("give exactly one of --manifest and --chart")
    if not Path(opts.overlay).is_dir():
        raise InputError("overlay directory not found", file=str(opts.overlay))
    if opts.manifest is not None:
        if opts.values is not None:
            raise InputError("--values needs --chart; a --manifest is already rendered")
        return _read(opts.manifest), str(opts.manifest)
    release = opts.release or Path(opts.overlay).resolve().name
    with tempfile.TemporaryDirectory() as scratch:
        values = None
        if opts.values is not None:
            # `helm get values` output starts with a header line that Helm itself cannot read.
            from migrate.sniff import refuse_objects_as_values

            values = Path(scratch) / "values.yaml"
            text = without_header(_read(opts.values, "values file"))
            refuse_objects_as_values(text, str(opts.values))
            values.write_text(text, encoding="utf-8")
        try:
            text = helm_template(opts.chart, values, release, opts.namespace, helm=opts.tools.helm)
        except ToolError as exc:
            if values is None:
                raise
            # Name the user's values file, not the copy, which is gone once this returns.
            exc.args = (str(exc).replace(str(values), str(opts.values)),)  # the same error, of the same kind
            raise
    return text, f"helm template {opts.chart}"


def without_header(text: str) -> str:
    """The values text without the ``USER-SUPPLIED VALUES:`` / ``COMPUTED VALUES:`` line (comment
    lines may come before it)."""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            if line.strip() in ("USER-SUPPLIED VALUES:", "COMPUTED VALUES:"):
                lines[number] = ""
                return "\n".join(lines)
            break
    return text


def _read(path: Path, what: str = "manifest") -> str:
    """A manifest (at most MAX_MANIFEST_BYTES) or a values file (at most MAX_VALUES_BYTES),
    from a file or a pipe, never waiting longer than --timeout for a pipe's writer."""
    from migrate.manifests import read_text

    if what == "manifest":
        return read_text(path, what)
    from migrate.values import MAX_VALUES_BYTES

    return read_text(path, what, MAX_VALUES_BYTES, "Helm keeps a release's values in a Secret of at most "
                     "1 MiB, so this is not `helm get values` output; pass the release's values only")


def write_reports(result: Result, fmt: str, report: Path | None, *, color: bool = False) -> None:
    """With ``report``, the chosen format goes to the file and text to stdout; else the format to stdout."""
    from migrate.reporters import get_reporter
    from migrate.reporters.base import write_reports as deliver

    deliver(lambda f, c: get_reporter(f, color=c).render(result), fmt, report, color=color)
