"""Verify the overlays that changed files touch: the pre-commit hook and the CI step.

    python -m migrate.hooks --overlays DIR --renders DIR [--format F] [--report FILE] [--summary FILE] [FILE...]

Overlays are the subdirectories of each ``--overlays`` DIR that hold a
kustomization file (the layout ``batch`` writes). Each is verified against its
Helm render in ``--renders``: ``<name>/manifest.yaml`` or ``<name>.yaml``
(the layout of ``batch --verify-against-dir``). The release namespace is the
overlay's ``namespace:`` unless ``--namespace`` is given.

A changed file inside an overlay, or its render, selects that overlay; a
changed file inside a Kustomize library (``base/``, ``accelerators/``,
``components/``) selects every overlay; other files select none. Without
FILE arguments every overlay is verified. Exit codes as ``batch``: the most
severe of 0 equivalent, 1 not equivalent, 2 bad input, 3 tool failed.

The overlays are rendered in as few Kustomize processes as there are workers
(:mod:`migrate.fleetbuild`); each is compared with its own render, and an overlay
Kustomize refuses gets the error of its own build.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import yaml

from migrate import yamlio
from migrate.errors import EXIT_DIFFERENT, EXIT_OK, InputError
from migrate.fleet import BatchResult, Job, JobResult, find_render
from migrate.options import ToolOptions

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
FORMATS = ("text", "json", "junit", "markdown")
CHUNK = 250  # overlays one worker renders in one Kustomize process


def find_overlays(roots: list[Path]) -> list[Path]:
    """Every subdirectory of the roots that holds a kustomization file, sorted."""
    found = []
    for root in roots:
        if not root.is_dir():
            raise InputError("overlays directory not found", file=str(root), key="--overlays")
        found += [d for d in sorted(root.iterdir()) if d.is_dir() and _kustomization(d) is not None]
    return found


def select(overlays: list[Path], files: list[Path], renders: Path) -> list[Path]:
    """The overlays that the changed ``files`` can affect; all of them without files."""
    if not files:
        return overlays
    chosen: set[Path] = set()
    by_name = {o.name: o for o in overlays}
    for file in (f.absolute() for f in files):
        owners = [o for o in overlays if file.is_relative_to(o.absolute())]
        if not owners and file.is_relative_to(renders.absolute()):
            name = file.relative_to(renders.absolute()).parts[0]
            owners = [o for o in [by_name.get(name), by_name.get(Path(name).stem)] if o is not None]
        if not owners and _in_library(file):
            return overlays
        chosen.update(owners)
    return [o for o in overlays if o in chosen]


def _in_library(file: Path) -> bool:
    from migrate.library import is_library

    return any(is_library(parent) for parent in file.parents)


def _kustomization(overlay: Path) -> Path | None:
    return next((overlay / n for n in KUSTOMIZATION_FILES if (overlay / n).is_file()), None)


def overlay_namespace(overlay: Path) -> str | None:
    """The namespace the overlay sets (``namespace:``, or an inline NamespaceTransformer), if any."""
    path = _kustomization(overlay)
    try:
        doc = yamlio.load_data(path.read_text(encoding="utf-8")) if path else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read: {' '.join(str(exc).split())}", file=str(path)) from None
    namespace = doc.get("namespace") if isinstance(doc, dict) else None
    if namespace is None and isinstance(doc, dict):  # helm-to-kustomize's unsetOnly NamespaceTransformer
        namespace = next((_transformer_namespace(t) for t in doc.get("transformers") or []
                          if _transformer_namespace(t) is not None), None)
    return namespace if isinstance(namespace, str) else None


def _transformer_namespace(entry: object) -> object:
    """The namespace an inline NamespaceTransformer sets, if ``entry`` is one."""
    try:
        config = yamlio.load_data(entry) if isinstance(entry, str) else None
    except yaml.YAMLError:
        return None
    if not isinstance(config, dict) or config.get("kind") != "NamespaceTransformer":
        return None
    meta = config.get("metadata")
    return meta.get("namespace") if isinstance(meta, dict) else None


def _namespace_or_none(overlay: Path) -> str | None:
    """The overlay's namespace; an unreadable kustomization is reported when the overlay is built."""
    try:
        return overlay_namespace(overlay)
    except InputError:
        return None


def verify_overlay(job: Job, arg: tuple[Path, str | None]) -> JobResult:
    """Verify one overlay against its render; errors become the result (see batch.recorded)."""
    from migrate.commands.batch import recorded

    return recorded(job, lambda: _verified(job, *arg))


def _verified(job: Job, overlay: Path, kustomize: str | None) -> JobResult:
    from migrate.commands.verify import verify_objects
    from migrate.reporters.base import summary_line
    from migrate.manifests import read_text
    from migrate.tools import kustomize_build

    manifest = find_render(job)
    helm_text = read_text(manifest)  # at most MAX_MANIFEST_BYTES
    result = verify_objects(helm_text, kustomize_build(overlay, kustomize), job.namespace,
                            helm_source=str(manifest))
    code = EXIT_OK if result.equivalent else EXIT_DIFFERENT
    return JobResult(job, code, 0.0, message="" if result.equivalent else summary_line(result),
                     overlay=str(overlay), verification=result)


def verify_chunk(jobs: list[Job], args: list[tuple[Path, str | None]], report: Callable[[JobResult], None]
                 ) -> list[JobResult]:
    """Verify overlays against their renders, the overlays rendered together (migrate.fleetbuild).
    Each result is the one :func:`verify_overlay` gives; its time is its own work and a share of
    the combined render."""
    from migrate.commands.batch import recorded
    from migrate.fleetbuild import build_all
    from migrate.manifests import read_text

    helm: dict[int, tuple[str, Path]] = {}
    results: dict[int, JobResult] = {}
    for i, job in enumerate(jobs):
        def read(i: int = i, job: Job = job) -> JobResult:
            manifest = find_render(job)
            helm[i] = (read_text(manifest), manifest)  # at most MAX_MANIFEST_BYTES
            return JobResult(job, EXIT_OK, 0.0)

        result = recorded(job, read)
        if i not in helm:
            results[i] = result
            report(result)
    building = [i for i in range(len(jobs)) if i in helm]
    start = time.perf_counter()
    rendered = build_all([args[i][0] for i in building], args[0][1] if args else None)
    share = (time.perf_counter() - start) / max(1, len(building))
    for i, text in zip(building, rendered):
        result = recorded(jobs[i], lambda i=i, text=text: _compared(jobs[i], args[i][0], helm[i], text))
        result.seconds += share
        results[i] = result
        report(result)
    return [results[i] for i in range(len(jobs))]


def _compared(job: Job, overlay: Path, helm: tuple[str, Path], kustomize_text: str | Exception) -> JobResult:
    from migrate.commands.verify import verify_objects
    from migrate.reporters.base import summary_line

    if isinstance(kustomize_text, Exception):
        raise kustomize_text  # the error of this overlay's own build
    helm_text, manifest = helm
    result = verify_objects(helm_text, kustomize_text, job.namespace, helm_source=str(manifest))
    code = EXIT_OK if result.equivalent else EXIT_DIFFERENT
    return JobResult(job, code, 0.0, message="" if result.equivalent else summary_line(result),
                     overlay=str(overlay), verification=result)


def verify_changed(overlay_roots: list[Path], renders: Path, files: list[Path], *, namespace: str | None = None,
                   kustomize: str | None = None, jobs: int | None = None, combine: bool = True) -> BatchResult:
    """Verify the overlays the changed ``files`` select. With ``combine`` (the default), each
    worker renders its share of the overlays in one Kustomize process (migrate.fleetbuild);
    without, each overlay is rendered by a Kustomize process of its own."""
    from migrate.commands.batch import Progress, check_kustomize, default_jobs, run_chunks, run_jobs

    overlays = select(find_overlays(overlay_roots), files, renders)
    if overlays:
        check_kustomize(ToolOptions(kustomize))
    work = [Job(name=o.name, values=None, release=o.name, namespace=namespace or _namespace_or_none(o),
                renders=renders) for o in overlays]
    workers = max(1, min(jobs or default_jobs(), len(work)))
    progress = Progress(len(work), sys.stderr)
    start = time.perf_counter()
    args = [(o, kustomize) for o in overlays]
    if combine:
        chunk = min(CHUNK, -(-len(work) // workers)) if work else 1
        results = run_chunks(work, verify_chunk, args, workers, "process", progress.done, size=chunk)
    else:
        results = run_jobs(work, verify_overlay, args, workers, "process", progress.done)
    progress.finish()
    return BatchResult(results, time.perf_counter() - start, workers, title="verify", noun="overlay")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--overlays", "overlay_roots", multiple=True, required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path), help="Directory of overlays (repeatable).")
@click.option("--renders", required=True, metavar="DIR", type=click.Path(file_okay=False, path_type=Path),
              help="Helm renders: DIR/<overlay>/manifest.yaml or DIR/<overlay>.yaml.")
@click.option("--namespace", help="Release namespace [default: the overlay's namespace].")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True)
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the report in --format to FILE; text still goes to stdout.")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also append the markdown report to FILE (for example $GITHUB_STEP_SUMMARY).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Parallel verifications [default: CPU count].")
@click.option("--kustomize", metavar="BIN", help="kustomize >= 5 or kubectl >= 1.27.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def verify_changed_command(files: tuple[Path, ...], overlay_roots: tuple[Path, ...], renders: Path,
                           namespace: str | None, fmt: str, report: Path | None, summary: Path | None,
                           jobs: int | None, kustomize: str | None, debug: bool) -> int:
    """Verify the overlays that FILE... (changed files) touch; every overlay without FILE."""
    from migrate.reporters.batch import render, write_reports

    batch = verify_changed(list(overlay_roots), renders, list(files), namespace=namespace, kustomize=kustomize,
                           jobs=jobs)
    if not batch.results:
        click.echo("no overlay affected by the changed files", err=True)
        return EXIT_OK
    write_reports(batch, fmt, report, color=sys.stdout.isatty() and "NO_COLOR" not in os.environ)
    if summary is not None:
        _append(summary, render(batch, "markdown"))
    return batch.exit_code


def _append(path: Path, text: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as out:
            out.write(text + "\n")
    except OSError as exc:
        raise InputError(f"cannot write the summary: {exc.strerror}", file=str(path)) from None


def main(argv: list[str] | None = None) -> int:
    from migrate.cli import _run_reporting_errors

    args = list(sys.argv[1:] if argv is None else argv)
    return _run_reporting_errors(
        lambda: verify_changed_command.main(args, "helm-to-kustomize-verify", standalone_mode=False),
        debug="--debug" in args,
    )


if __name__ == "__main__":
    sys.exit(main())
