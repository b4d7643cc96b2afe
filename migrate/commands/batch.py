"""``batch VALUES_DIR -o DIR``: one overlay per release, migrated in parallel, one combined report.

Each job is one :func:`migrate.commands.migrate.migrate` into ``DIR/<name>``.
A failing job is recorded with its one-line message and exit code and never
stops the others. The exit code is the most severe outcome over all releases:
0 all equivalent (or migrated), 1 some not equivalent, 2 some bad input,
3 some tool failed, 4 an internal error.

Outside a checkout of the Kustomize library, the library is placed once at
``DIR/kustomize`` and every overlay references it (instead of one copy each).

The renders are shared (:mod:`migrate.fleetbuild`): each worker process runs up to
:data:`THREADS` migrations at once in threads, and whenever all of them wait for a
Kustomize render, the overlays they wait for are rendered in one Kustomize process.
Each migration still fits and verifies its own overlay against its own render.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from migrate import PROG
from migrate.errors import EXIT_INTERRUPTED, EXIT_SIGNAL_BASE, InputError, MigrateError
from migrate.fleet import EXIT_BUG, BatchResult, Job, JobResult, find_render, load_jobs
from migrate.options import MigrateOptions, ToolOptions
from migrate.tools import as_completed, in_order

EXECUTORS = ("process", "thread")
LIBRARY_DIR = "kustomize"
THREADS = 32  # migrations at once in one process, whose renders one Kustomize process makes
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
    combine: bool = True  # renders of many overlays in one Kustomize process (False: one process each)


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
    if workers > 1 and opts.executor == "process":
        _warm(jobs)
    done: dict[str, JobResult] = {}

    def finished(result: JobResult) -> None:
        done[result.job.name] = result
        progress.done(result)

    try:
        if opts.combine:
            results = run_chunks(jobs, migrate_chunk, options, workers, opts.executor, finished)
        else:
            results = run_jobs(jobs, run_job, options, workers, opts.executor, finished)
    except (KeyboardInterrupt, SystemExit) as stop:
        code = stop.code if isinstance(stop, SystemExit) else EXIT_INTERRUPTED
        if not isinstance(code, int) or code < EXIT_SIGNAL_BASE:
            raise
        # the workers have stopped: what finished is reported, the rest is marked interrupted
        results = [done.get(job.name) or JobResult(job, code, 0.0, message="interrupted before it finished")
                   for job in jobs]
        print(f"{PROG}: interrupted: {len(done)} of {len(jobs)} releases finished; the report lists them",
              file=sys.stderr)
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
                          allow_unmapped=opts.allow_unmapped, tools=opts.tools, debug=opts.debug,
                          quick_schema_check=False)  # jsonschema alone: see values.validate


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


ChunkWork = Callable[[list[Job], list[Any], Callable[[JobResult], None]], list[JobResult]]


def run_chunks(jobs: list[Job], work: ChunkWork, args: list[Any], workers: int, executor: str,
               on_done: Callable[[JobResult], None], size: int = THREADS) -> list[JobResult]:
    """``work(chunk, chunk_args, report)`` over chunks of at most ``size`` jobs, each chunk in one
    process (``workers`` at a time) or, with the thread executor or one worker, all in this
    process; ``report(result)`` is called as each job finishes. Results in the order of ``jobs``.

    ``work`` must record errors in its results and be a module-level function.
    """
    if not jobs:
        return []
    if workers <= 1 or executor == "thread":
        lock = threading.Lock()

        def report(result: JobResult) -> None:
            with lock:
                on_done(result)

        return work(jobs, args, report)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; known: {', '.join(EXECUTORS)}")
    _preload()
    size = max(1, min(size, -(-len(jobs) // workers)))
    chunks = [list(range(start, min(start + size, len(jobs)))) for start in range(0, len(jobs), size)]
    context = multiprocessing.get_context()
    finished = context.SimpleQueue()
    results: dict[int, JobResult] = {}
    lock = threading.Lock()

    def take(i: int, result: JobResult) -> None:
        with lock:
            if i not in results:
                results[i] = result
                on_done(result)

    def read() -> None:  # each job's result as it finishes, until the end mark
        while (item := finished.get()) is not None:
            take(*item)

    reader = threading.Thread(target=read, daemon=True, name="batch-results")
    reader.start()
    failed: list[tuple[list[int], BaseException]] = []
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_set_reporter, initargs=(finished,)) as pool:
        futures = {pool.submit(_chunk_in_worker, work, chunk, [jobs[i] for i in chunk], [args[i] for i in chunk]):
                   chunk for chunk in chunks}
        try:
            for future in as_completed(futures):
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 - e.g. BrokenProcessPool
                    failed.append((futures[future], exc))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    finished.put(None)  # after every worker's last report
    reader.join(5.0)
    for chunk, exc in failed:
        for i in chunk:  # a job whose worker died before it reported
            take(i, JobResult(jobs[i], EXIT_BUG, 0.0, message=f"worker failed: {type(exc).__name__}: {exc}"))
    with lock:
        return [results[i] for i in range(len(jobs))]


_reporter: Any = None  # in a worker process: the queue each finished job is put on


def _set_reporter(queue: Any) -> None:
    global _reporter
    _reporter = queue


def _chunk_in_worker(work: ChunkWork, indices: list[int], jobs: list[Job], args: list[Any]) -> None:
    """Run a chunk in a worker process; each finished job goes to the parent at once."""
    where = {id(job): i for job, i in zip(jobs, indices)}

    def report(result: JobResult) -> None:
        _reporter.put((where[id(result.job)], result))

    work(jobs, args, report)


def migrate_chunk(jobs: list[Job], options: list[MigrateOptions], report: Callable[[JobResult], None]
                  ) -> list[JobResult]:
    """Migrate ``jobs`` at once, in threads, their renders made together (see the module's doc)."""
    from migrate.fleetbuild import Batcher

    kustomize = options[0].tools.kustomize if options else None
    batcher = Batcher(kustomize, parallel=1)

    def one(i: int) -> JobResult:
        batcher.enter()
        try:
            result = run_job(jobs[i], options[i], build=batcher.build)
        finally:
            batcher.leave()
        report(result)
        return result

    with ThreadPoolExecutor(min(THREADS, len(jobs)), thread_name_prefix="migrate") as pool:
        return in_order([pool.submit(one, i) for i in range(len(jobs))])


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


def run_job(job: Job, opts: MigrateOptions, build: Callable[[Path, str | None], str] | None = None) -> JobResult:
    """Migrate one release; every error becomes part of the result. ``build`` renders an overlay
    (default: one Kustomize process for it)."""
    return recorded(job, lambda: _migrated(job, opts, build), debug=opts.debug)


def _migrated(job: Job, opts: MigrateOptions, build: Callable[[Path, str | None], str] | None = None) -> JobResult:
    from migrate.commands import migrate as command

    outcome = command.migrate(MigrateOptions(**{**opts.__dict__, "verify_against": find_render(job)}),
                              kustomize_build=build)
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


def _warm(jobs: list[Job]) -> None:
    """Read, before the workers fork, what every migration of these chart versions reads (the
    mapping table with the tables it extends, the defaults, the schema's validator): paid once,
    not once per worker. Each migration still reports its own errors."""
    _preload()
    try:
        from migrate import values
        from migrate.mapping import load_table
    except ImportError:
        return
    for version in sorted({job.chart_version for job in jobs if job.chart_version}):
        try:
            load_table(version)
            values.validate(values.load_defaults(version), version, quick=False)  # as the workers
        except Exception:  # noqa: BLE001 - the migration of that version reports it
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

