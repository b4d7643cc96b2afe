"""``batch VALUES_DIR -o DIR``: one overlay per release, migrated in parallel, one combined report.

Each job is one :func:`migrate.commands.migrate.migrate` into ``DIR/<name>``.
A failing job is recorded with its one-line message and exit code and never
stops the others. The exit code is the most severe outcome over all releases:
0 all equivalent (or migrated), 1 some not equivalent, 2 some bad input,
3 some tool failed, 4 an internal error.

Outside a checkout of the Kustomize library, the library is placed once at
``DIR/kustomize`` and every overlay references it (instead of one copy each).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from migrate.errors import InputError, MigrateError
from migrate.fleet import EXIT_BUG, BatchResult, Job, JobResult, find_render, load_jobs
from migrate.options import MigrateOptions, ToolOptions

EXECUTORS = ("process", "thread")
LIBRARY_DIR = "kustomize"
# Imported before workers fork, so that each worker does not import them again.
_PRELOAD = ("migrate.commands.migrate", "migrate.commands.verify", "migrate.chart", "migrate.fit",
            "migrate.values", "migrate.mapping", "migrate.reporters")


@dataclass(frozen=True)
class BatchOptions:
    values_dir: Path
    output: Path
    index: Path | None = None
    namespace: str | None = None
    chart_version: str | None = None
    force: bool = False
    allow_unmapped: bool = False
    verify_against_dir: Path | None = None
    jobs: int | None = None  # None: one per CPU
    format: str = "text"
    report: Path | None = None
    tools: ToolOptions = field(default_factory=ToolOptions)
    color: bool = False
    debug: bool = False
    executor: str = "process"
    progress: TextIO | None = None  # None: stderr


def run(opts: BatchOptions) -> int:
    from migrate.reporters.batch import write_reports

    batch = execute(opts)
    write_reports(batch, opts.format, opts.report, color=opts.color)
    return batch.exit_code


def execute(opts: BatchOptions) -> BatchResult:
    """Find the jobs, check the tools once, place the library, migrate everything."""
    jobs = load_jobs(opts.values_dir, opts.index, namespace=opts.namespace, chart_version=opts.chart_version,
                     renders=opts.verify_against_dir)
    check_kustomize(opts.tools)
    if any(job.name == LIBRARY_DIR for job in jobs) and _library_at(opts.output) in (None, LIBRARY_DIR):
        raise InputError(f"a release named {LIBRARY_DIR!r} would overwrite the shared library; "
                         "give it another 'name' in an index", file=str(opts.output))
    place_library(opts.output)
    workers = min(opts.jobs or default_jobs(), len(jobs))
    progress = Progress(len(jobs), opts.progress or sys.stderr)
    start = time.perf_counter()
    options = [migrate_options(job, opts) for job in jobs]
    results = run_jobs(jobs, run_job, options, workers, opts.executor, progress.done)
    progress.finish()
    batch = BatchResult(results, time.perf_counter() - start, workers)
    if opts.debug:
        for result in batch.results:
            if result.traceback:
                print(result.traceback, file=sys.stderr)
    return batch


def default_jobs() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def migrate_options(job: Job, opts: BatchOptions) -> MigrateOptions:
    return MigrateOptions(values=job.values, output=opts.output / job.name, release=job.release,
                          namespace=job.namespace, chart_version=job.chart_version, force=opts.force,
                          allow_unmapped=opts.allow_unmapped, tools=opts.tools, debug=opts.debug)


# --- running ------------------------------------------------------------------------------------


Work = Callable[[Job, Any], JobResult]


def run_jobs(jobs: list[Job], work: Work, args: list[Any], workers: int, executor: str,
             on_done: Callable[[JobResult], None]) -> list[JobResult]:
    """``work(job, arg)`` for every job, ``workers`` at a time; results in the order of ``jobs``.

    ``work`` must record errors in its result; with processes it must be a module-level function.
    """
    if workers <= 1:
        results = []
        for job, arg in zip(jobs, args):
            results.append(work(job, arg))
            on_done(results[-1])
        return results
    _preload()
    results_by_index: dict[int, JobResult] = {}
    with _executor(executor, workers) as pool:
        futures = {pool.submit(work, job, arg): i for i, (job, arg) in enumerate(zip(jobs, args))}
        try:
            for future in as_completed(futures):
                i = futures[future]
                results_by_index[i] = _collected(future, jobs[i])
                on_done(results_by_index[i])
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return [results_by_index[i] for i in range(len(jobs))]


def _executor(kind: str, workers: int) -> Executor:
    if kind not in EXECUTORS:
        raise ValueError(f"unknown executor {kind!r}; known: {', '.join(EXECUTORS)}")
    if kind == "thread":
        return ThreadPoolExecutor(workers, thread_name_prefix="batch")
    return ProcessPoolExecutor(workers)


def _collected(future, job: Job) -> JobResult:  # type: ignore[no-untyped-def]
    """The job's result; a worker that died becomes the job's internal error."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool
        return JobResult(job, EXIT_BUG, 0.0, message=f"worker failed: {type(exc).__name__}: {exc}")


def run_job(job: Job, opts: MigrateOptions) -> JobResult:
    """Migrate one release; every error becomes part of the result."""
    return recorded(job, lambda: _migrated(job, opts), debug=opts.debug)


def _migrated(job: Job, opts: MigrateOptions) -> JobResult:
    from migrate.commands import migrate as command

    outcome = command.migrate(MigrateOptions(**{**opts.__dict__, "verify_against": find_render(job)}))
    return JobResult(job, outcome.exit_code, 0.0, message=_outcome_message(outcome), overlay=str(outcome.output),
                     migration=command.json_report(outcome), verification=outcome.verification)


def recorded(job: Job, call: Callable[[], JobResult], *, debug: bool = False) -> JobResult:
    """``call()`` timed; a MigrateError or any other exception becomes the job's result."""
    start = time.perf_counter()
    try:
        result = call()
    except MigrateError as exc:
        return JobResult(job, exc.exit_code, time.perf_counter() - start, message=_one_line(str(exc)))
    except Exception as exc:  # noqa: BLE001 - recorded, the other jobs go on
        return JobResult(job, EXIT_BUG, time.perf_counter() - start,
                         message=_one_line(f"unexpected {type(exc).__name__}: {exc}"),
                         traceback=traceback.format_exc() if debug else None)
    result.seconds = time.perf_counter() - start
    return result


def _outcome_message(outcome) -> str:  # type: ignore[no-untyped-def]
    if outcome.residual:
        return "overlay does not render the chart's objects: " + ", ".join(outcome.residual)
    if outcome.verification is not None and not outcome.verification.equivalent:
        from migrate.reporters.base import summary_line

        return summary_line(outcome.verification)
    return ""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _preload() -> None:
    """Import the migration's modules once in the parent; forked workers share them."""
    import importlib

    for name in _PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # the job reports it
            pass


def check_kustomize(tools: ToolOptions) -> None:
    """Find Kustomize once, so that a missing tool is one error, not one per release."""
    from migrate import tools as found

    found.find_kustomize(tools.kustomize)


# --- the shared library -----------------------------------------------------------------------


def _library_at(output: Path) -> str | None:
    """The library the overlays in ``output`` would use: a path, ``kustomize`` for the shared one, None if none."""
    from migrate import library

    found = library.find_checkout(output.absolute() / "_")
    if found is None:
        return None
    return LIBRARY_DIR if found == (output.absolute() / LIBRARY_DIR).resolve() else str(found)


def place_library(output: Path) -> None:
    """Outside a checkout, put the packaged library at ``output/kustomize`` for the overlays to share."""
    from migrate import library
    from migrate.overlay import fresh_dir

    output = output.absolute()
    if output.exists() and not output.is_dir():
        raise InputError("exists and is not a directory", file=str(output))
    if _library_at(output) is not None:
        return
    target = output / LIBRARY_DIR
    if target.exists():
        raise InputError("exists and is not a Kustomize library (base/, accelerators/, components/); "
                         "move it away", file=str(target))
    staging = None
    try:
        output.mkdir(parents=True, exist_ok=True)
        staging = fresh_dir(output, f".{LIBRARY_DIR}.", ".tmp")
        library.copy_blocks(staging)
        staging.rename(target)
    except OSError as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        raise InputError(f"cannot place the Kustomize library: {exc.strerror or exc}", file=str(target)) from None


# --- progress -----------------------------------------------------------------------------------


class Progress:
    """A one-line bar on a terminal; one plain line per finished release otherwise."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = total
        self.finished = 0
        self.stream = stream
        self.tty = _isatty(stream)

    def done(self, result: JobResult) -> None:
        self.finished += 1
        if self.tty:
            self._bar(result)
        else:
            detail = f": {result.message}" if result.message else ""
            print(f"[{self.finished}/{self.total}] {result.job.name}: {result.result} ({result.seconds:.1f}s){detail}",
                  file=self.stream, flush=True)

    def finish(self) -> None:
        if self.tty and self.finished:
            self.stream.write("\n")
            self.stream.flush()

    def _bar(self, result: JobResult) -> None:
        width = max(10, min(40, shutil.get_terminal_size().columns - 40))
        filled = width * self.finished // self.total
        line = f"\r[{'#' * filled}{'.' * (width - filled)}] {self.finished}/{self.total} {result.job.name}"
        self.stream.write(line[: shutil.get_terminal_size().columns] + "\033[K")
        self.stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

