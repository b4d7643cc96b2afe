"""Benchmark helm-to-kustomize against the bare renders it is built on, on this machine.

    make bench            (or: .venv/bin/python bench/bench.py [--repeat N] [--cases a,b,c])

Prints, with the machine it ran on:

* startup: ``helm-to-kustomize --version`` against ``python -c pass``;
* per release: ``helm-to-kustomize VALUES -o DIR --verify-against MANIFEST`` against a bare
  ``kustomize build`` of the overlay it wrote, as ratios: a CLI process with an empty cache
  (first migration on a machine), a CLI process with the library render cached (any later
  migration on the same building blocks), and the migration inside a running process (what
  the tool adds to the renders, without the interpreter's start-up);
* ``verify --chart`` of a tiny local chart against bare ``helm template`` + ``kustomize build``;
* batch throughput: ``batch`` over every fixture on all cores (processes and threads), from an
  empty cache, against the bare ``kustomize build`` of the same overlays run in parallel by hand.

Each time is shown as wall clock and as CPU (user + sys of the whole process tree): on a
shared machine other load inflates wall times, CPU times stay steady. Medians of
``--repeat`` runs; the batch runs once. The bench uses caches of its own, never the user's,
and compiles the package's bytecode first, as installing a wheel does. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice" / "v0.4.12"
TINY_CHART = ROOT / "tests" / "data" / "tiny-chart"
TINY_OVERLAY = ROOT / "tests" / "data" / "tiny-overlay"
CLI = Path(sys.executable).parent / "helm-to-kustomize"
MIGRATION_MODULES = ("migrate.cli", "migrate.commands.migrate", "migrate.commands.verify", "migrate.chart",
                     "migrate.fit", "migrate.values", "migrate.mapping", "migrate.reporters")
DEFAULT_CASES = ("single-node-nvidia", "pd-disaggregation", "multinode", "example-with-monitoring")
TARGET_RATIO = 1.5
TARGET_STARTUP_MS = 150

sys.path.insert(0, str(ROOT))

from migrate import tools  # noqa: E402
from migrate.cache import CACHE_ENV  # noqa: E402
from migrate.commands import batch  # noqa: E402
from migrate.fleet import load_jobs  # noqa: E402
from migrate.options import ToolOptions  # noqa: E402


@dataclass(frozen=True)
class Sample:
    """Wall time and CPU time (user + sys of this process and every finished descendant), in seconds."""

    wall: float
    cpu: float

    def __truediv__(self, other: Sample) -> Sample:
        return Sample(self.wall / other.wall, self.cpu / other.cpu)


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measured(call: Callable[[], object], repeat: int = 1, *, warm: bool = True) -> Sample:
    """Medians over ``repeat`` runs of ``call``, after one warm-up run."""
    if warm:
        call()
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), _cpu()
        call()
        walls.append(time.perf_counter() - wall)
        cpus.append(_cpu() - cpu)
    return Sample(statistics.median(walls), statistics.median(cpus))


def run(cmd: Sequence[object], check: bool = True, cache: Path | None = None) -> str:
    """Run ``cmd``; ``cache`` is the tool's cache directory for this run (else the bench's own)."""
    env = {**os.environ, **({CACHE_ENV: str(cache)} if cache else {})}
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, env=env)
    if check and proc.returncode != 0:
        raise SystemExit(f"bench: `{' '.join(map(str, cmd))}` failed (exit {proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def kustomize_argv(overlay: Path) -> list[str]:
    tool = tools.find_kustomize()
    verb = "kustomize" if Path(tool.path).name.startswith("kubectl") else "build"
    return [*tool.argv, verb, str(overlay)]


# --- machine --------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    kustomize = tools.find_kustomize()
    helm = tools.find_helm()
    return [
        ("cpus", f"{batch.default_jobs()} usable of {os.cpu_count()}"),
        ("cpu model", cpu_model()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("kustomize", f"{kustomize.version} ({Path(kustomize.path).name})"),
        ("helm", helm.version),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
    ]


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --- measurements ---------------------------------------------------------------------------


def startup(repeat: int) -> list[tuple[str, Sample]]:
    modules = ", ".join(MIGRATION_MODULES)
    return [
        ("python -c pass", measured(lambda: run([sys.executable, "-c", "pass"]), repeat)),
        ("helm-to-kustomize --version", measured(lambda: run([CLI, "--version"]), repeat)),
        ("helm-to-kustomize batch --help", measured(lambda: run([CLI, "batch", "--help"]), repeat)),
        ("python: import a migration's modules", measured(lambda: run([sys.executable, "-c", f"import {modules}"]),
                                                          repeat)),
    ]


def case_info(name: str) -> dict:
    import yaml

    cases = yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]
    return next(c for c in cases if c["name"] == name)


def per_release(name: str, work: Path, repeat: int) -> dict:
    """Migrate+verify of one fixture (CLI with an empty cache, CLI with a warm cache, in-process)
    into a new directory each time, as a release is migrated, against a bare build of the
    overlay it wrote."""
    case = case_info(name)
    runs = iter(range(1_000_000))

    def args() -> list[object]:
        return [FIXTURES / name / "values.yaml", "-o", work / "single" / name / str(next(runs)), "--release",
                case["release"], "--namespace", case["namespace"], "--verify-against", FIXTURES / name / "manifest.yaml"]

    cold = measured(lambda: run([CLI, *args()], cache=work / "cold" / f"{name}-{next(runs)}"), repeat)
    warm = measured(lambda: run([CLI, *args()], cache=work / "warm"), repeat)
    out = work / "single" / name / "0"
    build = measured(lambda: run(kustomize_argv(out)), repeat)
    return {"case": name, "cold": cold, "warm": warm, "build": build, **in_process(args, repeat)}


def in_process(args: Callable[[], list[object]], repeat: int) -> dict:
    """One migration inside this process (warm cache): its time, its Kustomize renders (count,
    CPU) and its own Python CPU."""
    from migrate.commands import migrate as command
    from migrate.options import MigrateOptions

    def opts() -> MigrateOptions:
        values, _, out, _, release, _, namespace, _, manifest = args()
        return MigrateOptions(values=Path(values), output=Path(out), release=str(release),
                              namespace=str(namespace), verify_against=Path(manifest))

    renders: list[float] = []
    original = tools.run

    def counting(cmd: Sequence[str], **kwargs: object) -> str:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            return original(cmd, **kwargs)  # type: ignore[arg-type]
        finally:
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            renders.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)

    tools.run = counting  # type: ignore[assignment]
    try:
        with quiet_stdout():
            command.migrate(opts())  # warm: version probes, imports, the library render
            renders.clear()
            sample = measured(lambda: command.migrate(opts()), repeat, warm=False)
    finally:
        tools.run = original  # type: ignore[assignment]
    render_cpu = sum(renders) / repeat
    return {"in_process": sample, "renders": len(renders) // repeat, "render_cpu": render_cpu,
            "python_cpu": sample.cpu - render_cpu}


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        yield


def tiny_chart(work: Path, repeat: int) -> tuple[Sample, Sample]:
    """``verify --chart`` of the tests' tiny chart against bare ``helm template`` + ``kustomize build``."""
    helm = tools.find_helm()
    overlay = work / "tiny-overlay"
    shutil.copytree(TINY_OVERLAY, overlay, dirs_exist_ok=True)
    bare = measured(lambda: (run([*helm.argv, "template", "demo", TINY_CHART, "--namespace", "shop"]),
                             run(kustomize_argv(overlay))), repeat)
    verify = measured(lambda: run([CLI, "verify", overlay, "--chart", TINY_CHART, "--release", "demo",
                                   "--namespace", "shop"], check=False), repeat)
    return verify, bare


def batch_run(work: Path, executor: str, workers: int, cache: str = "") -> tuple[Sample, batch.BatchResult]:
    """``batch`` over all fixtures into a new directory; from an empty cache unless ``cache``
    names one an earlier run filled."""
    label = f"{executor}-{workers}"
    out = work / f"batch-{label}-{len(list(work.glob(f'batch-{label}-*')))}"
    os.environ[CACHE_ENV] = str(work / f"cache-batch-{cache or label}")
    results: list[batch.BatchResult] = []
    with open(os.devnull, "w") as quiet:
        opts = batch.BatchOptions(values_dir=FIXTURES, output=out, index=FIXTURES / "cases.yaml",
                                  verify_against_dir=FIXTURES, jobs=workers, force=True, executor=executor,
                                  progress=quiet)
        sample = measured(lambda: results.append(batch.execute(opts)), warm=False)
    return sample, results[0]


def bare_parallel(overlays: list[Path], workers: int) -> Sample:
    def builds() -> None:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda o: run(kustomize_argv(o)), overlays))

    return measured(builds, warm=False)


# --- report ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="fixtures for the per-release ratio")
    parser.add_argument("--skip-batch", action="store_true", help="skip the batch throughput runs")
    args = parser.parse_args(argv)
    if not CLI.exists():
        raise SystemExit(f"bench: {CLI} not found; run `make install` first")
    compileall.compile_dir(ROOT / "migrate", quiet=1)  # as `pip install` does for a wheel
    work = Path(tempfile.mkdtemp(prefix="h2k-bench-"))
    os.environ[CACHE_ENV] = str(work / "cache")  # this process's migrations (in-process, batch)
    try:
        report(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(args: argparse.Namespace, work: Path) -> None:
    print("== machine")
    for key, value in machine():
        print(f"  {key:<10} {value}")
    print(f"  {'load':<10} {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min): other load inflates "
          "wall times; CPU times are steadier")
    print(f"\n== startup (median of {args.repeat}; wall / CPU)")
    for label, sample in startup(args.repeat):
        print(f"  {label:<38} {ms(sample.wall):>8} / {ms(sample.cpu):>7}")
    print(f"  target: --version under {TARGET_STARTUP_MS} ms wall")
    per_release_report(args, work)
    verify, bare = tiny_chart(work, args.repeat)
    ratio = verify / bare
    print("\n== verify --chart of a tiny local chart / bare helm template + kustomize build")
    print(f"  verify {ms(verify.wall)} / {ms(verify.cpu)} CPU; bare {ms(bare.wall)} / {ms(bare.cpu)} CPU; "
          f"ratio {ratio.wall:.2f}x wall, {ratio.cpu:.2f}x CPU")
    if not args.skip_batch:
        batch_report(work)


def per_release_report(args: argparse.Namespace, work: Path) -> None:
    print(f"\n== one release: migrate+verify / bare kustomize build of its overlay (median of {args.repeat}; "
          "wall, CPU in brackets)")
    print("  cold: a CLI process, empty cache; warm: a CLI process, library render cached; "
          "in-process: the migration in a running process (no interpreter start-up)")
    print(f"  {'case':<24} {'build':>14} {'cold':>14} {'warm':>14} {'in-process':>14}  | ratio cold   warm"
          f"  in-process | renders")
    ratios: dict[str, list[Sample]] = {"cold": [], "warm": [], "in_process": []}
    for name in [c for c in args.cases.split(",") if c]:
        r = per_release(name, work, args.repeat)
        row = {kind: r[kind] / r["build"] for kind in ratios}
        for kind, ratio in row.items():
            ratios[kind].append(ratio)
        times = " ".join(f"{ms(r[k].wall):>6} ({ms(r[k].cpu):>6})" for k in ("build", "cold", "warm", "in_process"))
        print(f"  {name:<24} {times}  | {row['cold'].wall:>9.2f}x {row['warm'].wall:>5.2f}x {row['in_process'].wall:>10.2f}x"
              f" | {r['renders']} (+1 cold)")
    if ratios["cold"]:
        medians = {k: (statistics.median(x.wall for x in v), statistics.median(x.cpu for x in v))
                   for k, v in ratios.items()}
        print("  median ratio (wall, CPU): " + "; ".join(f"{k.replace('_', '-')} {w:.2f}x, {c:.2f}x"
                                                           for k, (w, c) in medians.items())
              + f"  (target {TARGET_RATIO}x)")
        print("  A CLI process adds the interpreter and its imports (see startup) to the in-process time; an empty "
              "cache adds one render of the library part.")


def batch_report(work: Path) -> None:
    workers = batch.default_jobs()
    print(f"\n== batch over all fixtures on {workers} workers / the same overlays' bare kustomize builds, "
          f"{workers} at a time")
    best = None
    runs = [("processes", "process", ""), ("threads", "thread", ""),
            ("processes, warm cache", "process", f"process-{workers}")]
    for label, executor, cache in runs:
        sample, result = batch_run(work, executor, workers, cache)
        if not cache:  # the speed-up compares runs from an empty cache
            best = sample if best is None or sample.wall < best.wall else best
        overlays = [Path(r.overlay) for r in result.results if r.overlay]
        bare = bare_parallel(overlays, workers)
        counts = ", ".join(f"{n} {w}" for w, n in result.counts().items() if n)
        print(f"  {label:<22} {len(result.results)} releases in {sample.wall:.1f}s wall / {sample.cpu:.1f}s CPU "
              f"({len(result.results) / sample.wall:.2f}/s; {counts}); bare {len(overlays)} builds {bare.wall:.1f}s / "
              f"{bare.cpu:.1f}s CPU; ratio {sample.wall / bare.wall:.2f}x wall, {sample.cpu / bare.cpu:.2f}x CPU")
    serial, _ = batch_run(work, "process", 1)
    assert best is not None
    print(f"  {'serial':<22} {serial.wall:.1f}s wall / {serial.cpu:.1f}s CPU on 1 worker, empty cache; "
          f"speed-up on {workers} workers {serial.wall / best.wall:.2f}x")
    print("  An empty cache renders the library part once per distinct set of building blocks; a warm cache "
          "(a CI job that keeps it, a second run) renders each overlay once.")


if __name__ == "__main__":
    sys.exit(main())
