"""Benchmark helm-to-kustomize against the bare renders it is built on, on this machine.

    make bench            (or: .venv/bin/python bench/bench.py [--repeat N] [--cases a,b,c])

Prints, with the machine it ran on:

* startup: ``helm-to-kustomize --version`` against ``python -c pass``;
* per release: ``helm-to-kustomize VALUES -o DIR --verify-against MANIFEST`` (a new process,
  as a user runs it) against a bare ``kustomize build`` of the overlay it wrote, as a ratio,
  and where the migration's time goes (Kustomize processes against Python);
* ``verify --chart`` of a tiny local chart against bare ``helm template`` + ``kustomize build``;
* batch throughput: ``batch`` over every fixture on all cores (processes and threads)
  against the bare ``kustomize build`` of the same overlays run in parallel by hand.

Times are medians of ``--repeat`` runs (wall clock). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice" / "v0.4.12"
TINY_CHART = ROOT / "tests" / "data" / "tiny-chart"
TINY_OVERLAY = ROOT / "tests" / "data" / "tiny-overlay"
CLI = Path(sys.executable).parent / "helm-to-kustomize"
DEFAULT_CASES = ("single-node-nvidia", "pd-disaggregation", "multinode", "example-with-monitoring")
TARGET_RATIO = 1.5
TARGET_STARTUP_MS = 150

sys.path.insert(0, str(ROOT))

from migrate import tools  # noqa: E402
from migrate.commands import batch  # noqa: E402
from migrate.fleet import load_jobs  # noqa: E402
from migrate.options import ToolOptions  # noqa: E402


def timed(call: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``call`` in seconds, after one warm-up run."""
    call()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def run(cmd: Sequence[object]) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
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


def startup(repeat: int) -> list[tuple[str, float, float | None]]:
    bare = timed(lambda: run([sys.executable, "-c", "pass"]), repeat)
    version = timed(lambda: run([CLI, "--version"]), repeat)
    help_ = timed(lambda: run([CLI, "batch", "--help"]), repeat)
    return [("python -c pass", bare, None), ("helm-to-kustomize --version", version, version / bare),
            ("helm-to-kustomize batch --help", help_, help_ / bare)]


def case_info(name: str) -> dict:
    import yaml

    cases = yaml.safe_load((FIXTURES / "cases.yaml").read_text())["cases"]
    return next(c for c in cases if c["name"] == name)


def per_release(name: str, work: Path, repeat: int) -> dict:
    """CLI migrate+verify of one fixture against a bare build of the overlay it wrote."""
    case = case_info(name)
    out = work / "single" / name
    cmd = [CLI, FIXTURES / name / "values.yaml", "-o", out, "--release", case["release"], "--namespace",
           case["namespace"], "--verify-against", FIXTURES / name / "manifest.yaml", "--force"]
    migrate_s = timed(lambda: run(cmd), repeat)
    build_s = timed(lambda: run(kustomize_argv(out)), repeat)
    builds, build_total, inproc = in_process_profile(cmd[1:], repeat)
    return {"case": name, "migrate": migrate_s, "build": build_s, "ratio": migrate_s / build_s,
            "builds": builds, "build_time": build_total, "in_process": inproc}


def in_process_profile(args: Sequence[object], repeat: int) -> tuple[int, float, float]:
    """Within one process: how many external renders the migration runs and how long they take."""
    from click.testing import CliRunner

    from migrate.cli import cli

    calls: list[float] = []
    original = tools.run

    def counting(cmd: Sequence[str], **kwargs: object) -> str:
        start = time.perf_counter()
        try:
            return original(cmd, **kwargs)  # type: ignore[arg-type]
        finally:
            calls.append(time.perf_counter() - start)

    tools.run = counting  # type: ignore[assignment]
    try:
        runner = CliRunner()
        total = timed(lambda: runner.invoke(cli, [str(a) for a in args], catch_exceptions=False), repeat)
        calls.clear()
        runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
    finally:
        tools.run = original  # type: ignore[assignment]
    return len(calls), sum(calls), total


def tiny_chart(work: Path, repeat: int) -> dict:
    helm = tools.find_helm()
    overlay = work / "tiny-overlay"
    shutil.copytree(TINY_OVERLAY, overlay, dirs_exist_ok=True)
    bare = timed(lambda: (run([*helm.argv, "template", "demo", TINY_CHART, "--namespace", "shop"]),
                          run(kustomize_argv(overlay))), repeat)
    verify = timed(lambda: subprocess.run([str(CLI), "verify", str(overlay), "--chart", str(TINY_CHART),
                                           "--release", "demo", "--namespace", "shop"],
                                          capture_output=True, check=False), repeat)
    return {"bare": bare, "verify": verify, "ratio": verify / bare}


def batch_throughput(work: Path, executor: str, workers: int) -> tuple[float, batch.BatchResult]:
    out = work / f"batch-{executor}-{workers}"
    with open(os.devnull, "w") as quiet:
        opts = batch.BatchOptions(values_dir=FIXTURES, output=out, index=FIXTURES / "cases.yaml",
                                  verify_against_dir=FIXTURES, jobs=workers, force=True, executor=executor,
                                  progress=quiet)
        start = time.perf_counter()
        result = batch.execute(opts)
    return time.perf_counter() - start, result


def bare_parallel(overlays: list[Path], workers: int) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda o: run(kustomize_argv(o)), overlays))
    return time.perf_counter() - start


# --- report ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="fixtures for the per-release ratio")
    parser.add_argument("--skip-batch", action="store_true", help="skip the batch throughput run")
    args = parser.parse_args(argv)
    if not CLI.exists():
        raise SystemExit(f"bench: {CLI} not found; run `make install` first")
    work = Path(tempfile.mkdtemp(prefix="h2k-bench-"))
    try:
        report(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(args: argparse.Namespace, work: Path) -> None:
    print("== machine")
    for key, value in machine():
        print(f"  {key:<10} {value}")
    print(f"\n== startup (median of {args.repeat})")
    for label, seconds, ratio in startup(args.repeat):
        extra = f"  {ratio:.2f}x python" if ratio else ""
        print(f"  {label:<32} {seconds * 1000:7.1f} ms{extra}")
    print(f"  target: --version under {TARGET_STARTUP_MS} ms")

    print(f"\n== one release: migrate+verify (CLI) / bare kustomize build of its overlay (median of {args.repeat})")
    print(f"  {'case':<26} {'migrate':>9} {'build':>8} {'ratio':>6}   {'renders':>7} {'in renders':>10} "
          f"{'python':>8}")
    ratios = []
    for name in [c for c in args.cases.split(",") if c]:
        r = per_release(name, work, args.repeat)
        ratios.append(r["ratio"])
        python_s = r["in_process"] - r["build_time"]
        print(f"  {name:<26} {r['migrate'] * 1000:7.0f}ms {r['build'] * 1000:6.0f}ms {r['ratio']:5.2f}x   "
              f"{r['builds']:>7} {r['build_time'] * 1000:8.0f}ms {python_s * 1000:6.0f}ms")
    if ratios:
        print(f"  median ratio {statistics.median(ratios):.2f}x (target {TARGET_RATIO}x); 'renders' = Kustomize "
              "processes per migration, 'python' = in-process time outside them")

    tiny = tiny_chart(work, args.repeat)
    print("\n== verify --chart of a tiny local chart / bare helm template + kustomize build")
    print(f"  verify {tiny['verify'] * 1000:.0f} ms, bare {tiny['bare'] * 1000:.0f} ms, ratio {tiny['ratio']:.2f}x")

    if args.skip_batch:
        return
    workers = batch.default_jobs()
    print(f"\n== batch over all fixtures on {workers} workers / bare kustomize builds in parallel by hand")
    best = float("inf")
    for executor in batch.EXECUTORS:
        seconds, result = batch_throughput(work, executor, workers)
        best = min(best, seconds)
        overlays = [Path(r.overlay) for r in result.results if r.overlay]
        bare = bare_parallel(overlays, workers)
        counts = ", ".join(f"{n} {w}" for w, n in result.counts().items() if n)
        print(f"  {executor:<8} {len(result.results)} releases in {seconds:.1f}s "
              f"({len(result.results) / seconds:.1f}/s; {counts}); bare {len(overlays)} builds in {bare:.1f}s; "
              f"ratio {seconds / bare:.2f}x")
    serial, _ = batch_throughput(work, "process", 1)
    print(f"  serial   {serial:.1f}s on 1 worker (speed-up on {workers}: {serial / best:.2f}x)")


if __name__ == "__main__":
    sys.exit(main())
