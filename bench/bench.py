"""Benchmark helm-to-kustomize against the bare renders it is built on, on this machine, in one run.

    make bench   (or: .venv/bin/python bench/bench.py [--repeat N] [--fleet-repeat N] [--fleet N]
                  [--sizes 10,100,1000] [--cases a,b,c] [--skip-fleet] [--skip-growth])

Prints, with the machine it ran on and the date:

* startup: ``helm-to-kustomize --version`` against ``python -c pass``;
* one release: ``helm-to-kustomize VALUES -o DIR --verify-against MANIFEST`` against a bare
  ``kustomize build`` of the overlay it wrote: a new process with an empty cache, a new
  process with the library render cached, and the migration inside a running process;
* ``verify --chart`` of a tiny local chart against bare ``helm template`` + ``kustomize build``;
* a fleet (every fixture case of every chart version, each a release of its own name, see
  bench/fleet.py): ``batch --verify-against-dir`` from an empty and from a warm cache, the
  verification-only hook (``python -m migrate.hooks``) and ``batch`` with one Kustomize process
  per release, against the floor: one ``kustomize build`` of a kustomization listing every
  overlay the batch wrote;
* growth: ``batch`` (warm cache) over 10, 100 and 1,000 releases made from the fixtures (the
  same mix of versions and cases at each size), with its floor, time per release and memory
  (largest process, and the whole process tree).

Each time is wall clock (CPU, user + sys of the process tree, in brackets): on a shared
machine other load inflates wall times. A command and its floor run in turn, A B A B, and each
ratio is the median of the pairs' ratios. Memory is the operating system's peak resident size
of the largest process, and the peak of the whole tree sampled every 20 ms. The bench uses
caches (and a cache key) of its own, never the user's, and compiles the package's bytecode first, as installing
a wheel does. Not part of the test suite.
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "llm-d-modelservice" / "v0.4.12"
TINY_CHART = ROOT / "tests" / "data" / "tiny-chart"
TINY_OVERLAY = ROOT / "tests" / "data" / "tiny-overlay"
CLI = Path(sys.executable).parent / "helm-to-kustomize"
MIGRATION_MODULES = ("migrate.cli", "migrate.commands.migrate", "migrate.commands.verify", "migrate.chart",
                     "migrate.fit", "migrate.values", "migrate.mapping", "migrate.reporters")
NEWEST = "v0.4.12"
DEFAULT_CASES = ("single-node-nvidia", "pd-disaggregation", "multinode", "example-with-monitoring")
TARGET_RATIO = 2.0  # one release in a new process, warm cache, against the bare build
TARGET_STARTUP_MS = 150

sys.path.insert(0, str(ROOT))

from migrate import tools  # noqa: E402
from migrate.cache import CACHE_ENV, STATE_ENV  # noqa: E402
from migrate.commands import batch  # noqa: E402


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


# --- fleets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """One whole-process run: wall and CPU seconds, peak memory of the largest process and of
    the whole process tree (bytes), and the exit code."""

    wall: float
    cpu: float
    largest: int
    tree: int
    code: int


def process_run(cmd: Sequence[object], cache: Path | None = None, *, go_gc: str | None = None) -> Run:
    """Run ``cmd`` (its output thrown away), sampling the memory of its process tree; CPU and the
    largest process come from the kernel's accounting of the finished tree (wait4). ``go_gc``:
    GOGC for the Go programs it runs (else Go's default, unless set for the bench)."""
    env = {**os.environ, **({CACHE_ENV: str(cache)} if cache else {}), **({"GOGC": go_gc} if go_gc else {})}
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=devnull, stderr=devnull, env=env)
        tree = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            tree = max(tree, tree_rss(proc.pid))
            time.sleep(0.02)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, tree, proc.returncode)


def tree_rss(root: int) -> int:
    """Resident bytes of ``root`` and all its descendants now (Linux /proc; 0 elsewhere)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
    try:
        entries = os.listdir("/proc")
    except OSError:
        return 0
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * page
    total, stack = 0, [root]
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack += children.get(pid, [])
    return total


def floor_dir(overlays: list[Path], work: Path) -> Path:
    """A kustomization listing ``overlays`` as resources."""
    directory = work / f"floor-{len(list(work.glob('floor-*')))}"
    directory.mkdir()
    (directory / "kustomization.yaml").write_text(
        "resources:\n" + "".join(f"- {os.path.relpath(o, directory)}\n" for o in overlays))
    return directory


GROUP = 32  # overlays per build in the grouped floor, as batch combines them (fleetbuild.MAX_GROUP is 40)
ONE_BUILD_MAX = 200  # above, one build of every overlay is not measured: Kustomize's work per overlay grows


class Floor:
    """The bare Kustomize work for some overlays: one build of all of them (the issue's floor), and
    builds of GROUP overlays each, as many at a time as there are CPUs (Kustomize's best here)."""

    def __init__(self, overlays: list[Path], work: Path) -> None:
        self.count = len(overlays)
        self.one = floor_dir(overlays, work)
        self.groups = [floor_dir(overlays[i:i + GROUP], work) for i in range(0, len(overlays), GROUP)]

    def one_build(self, go_gc: str | None = None) -> Run:
        return process_run(kustomize_argv(self.one), go_gc=go_gc)

    def grouped(self, go_gc: str | None = None) -> Run:
        code = ("import subprocess, sys; from concurrent.futures import ThreadPoolExecutor as P; "
                "argv = sys.argv[2:-1]; dirs = sys.argv[-1].split('\\n'); "
                "list(P(int(sys.argv[1])).map(lambda d: subprocess.run([*argv, d], stdout=subprocess.DEVNULL, "
                "check=True), dirs))")
        return process_run([sys.executable, "-c", code, batch.default_jobs(), *kustomize_argv(Path("x"))[:-1],
                            "\n".join(str(g) for g in self.groups)], go_gc=go_gc)


def overlays_in(output: Path) -> list[Path]:
    return sorted(d for d in output.iterdir() if d.is_dir() and (d / "kustomization.yaml").is_file()
                  and d.name != batch.LIBRARY_DIR)


class Fleet:
    """A generated fleet: its values and renders, and the batch runs made of it."""

    def __init__(self, pool: list, count: int, work: Path, label: str) -> None:
        import fleet as fleets

        self.count = count
        self.work = work
        self.label = label
        self.source = work / f"fleet-{label}"
        self.index = fleets.write(pool, count, self.source)
        self.outputs = 0

    def output(self) -> Path:
        self.outputs += 1
        return self.work / f"out-{self.label}-{self.outputs}"

    def batch(self, output: Path) -> list[object]:
        return [sys.executable, "-m", "migrate", "batch", self.source, "--index", self.index, "-o", output,
                "--verify-against-dir", self.source]

    def separate(self, output: Path) -> list[object]:
        """``batch`` with one Kustomize process per release (as before the combined builds)."""
        code = ("import sys; from pathlib import Path; from migrate.commands import batch; "
                "o = batch.BatchOptions(values_dir=Path(sys.argv[1]), index=Path(sys.argv[2]), output=Path(sys.argv[3]), "
                "verify_against_dir=Path(sys.argv[1]), combine=False); sys.exit(batch.run(o))")
        return [sys.executable, "-c", code, self.source, self.index, output]

    def hook(self, output: Path) -> list[object]:
        return [sys.executable, "-m", "migrate.hooks", "--overlays", output, "--renders", self.source]


def paired(a: Callable[[], Run], b: Callable[[], Run], repeat: int) -> tuple[list[Run], list[Run]]:
    """A and B in turn, ``repeat`` times each."""
    runs_a, runs_b = [], []
    for _ in range(repeat):
        runs_a.append(a())
        runs_b.append(b())
    return runs_a, runs_b


def median_run(runs: list[Run]) -> Run:
    return Run(*(statistics.median(getattr(r, f) for r in runs) for f in ("wall", "cpu", "largest", "tree")),
               max(r.code for r in runs))


def ratio(runs_a: list[Run], runs_b: list[Run]) -> tuple[float, float]:
    """Median of the pairs' wall ratios, and of their CPU ratios."""
    return (statistics.median(x.wall / y.wall for x, y in zip(runs_a, runs_b)),
            statistics.median(x.cpu / y.cpu for x, y in zip(runs_a, runs_b)))


def mib(size: float) -> str:
    return f"{size / 2**20:.0f} MiB"


def shown(run: Run) -> str:
    return f"{run.wall:6.1f}s ({run.cpu:6.1f}s CPU)"


def fleet_report(work: Path, pool: list, count: int, repeat: int, label: str, title: str) -> Path:
    """A fleet against its floors; returns its warm cache."""
    fleet = Fleet(pool, count, work, label)
    cold_cache = iter(work / f"cache-cold-{label}-{n}" for n in range(1_000_000))
    warm_cache = work / f"cache-{label}"
    first = fleet.output()
    setup = process_run(fleet.batch(first), warm_cache)  # fills the warm cache; its overlays are the floor's
    if setup.code != 0:
        print(f"  warning: the first batch exited {setup.code}; the ratios below still compare the runs")
    floor = Floor(overlays_in(first), work)
    one = floor.count <= ONE_BUILD_MAX
    base = floor.one_build if one else floor.grouped
    print(f"\n== fleet: {title}, {count} releases, each of its own name / the floor: "
          + (f"one kustomize build of all {floor.count} overlays" if one else
             f"kustomize builds of {GROUP} of its {floor.count} overlays each, {batch.default_jobs()} at a time")
          + f" (median of {repeat}; command and floor in turn)")
    rows = [
        ("batch, warm cache", lambda: process_run(fleet.batch(fleet.output()), warm_cache)),
        ("batch, empty cache", lambda: process_run(fleet.batch(fleet.output()), next(cold_cache))),
        ("hook: verify only", lambda: process_run(fleet.hook(first), warm_cache)),
        ("batch, a build per release", lambda: process_run(fleet.separate(fleet.output()), warm_cache)),
    ]
    floors: list[Run] = []
    for name, command in rows:
        runs, bases = paired(command, base, repeat)
        floors += bases
        wall, cpu = ratio(runs, bases)
        m = median_run(runs)
        print(f"  {name:<28} {shown(m)}  {m.wall / count * 1000:6.1f} ms/release  "
              f"ratio {wall:4.2f}x wall, {cpu:4.2f}x CPU; memory {mib(m.largest)} largest process, {mib(m.tree)} tree"
              + (f"; exit {m.code}" if m.code else ""))
    f = median_run(floors)
    print(f"  {'floor':<28} {shown(f)}  {f.wall / count * 1000:6.1f} ms/release  memory {mib(f.largest)}")
    if tools.go_environment() is not None:  # else the tool runs Kustomize with the GOGC or GOMEMLIMIT set here
        t = median_run([base(tools.GO_GC) for _ in range(repeat)])
        print(f"  {'(floor at GOGC=' + tools.GO_GC + ')':<28} {shown(t)}  {t.wall / count * 1000:6.1f} ms/release  "
              f"memory {mib(t.largest)}: as helm-to-kustomize runs Kustomize")
    if one:
        g = median_run([floor.grouped() for _ in range(repeat)])
        print(f"  {'(builds of ' + str(GROUP) + ', ' + str(batch.default_jobs()) + ' at a time)':<28} {shown(g)}  "
              f"{g.wall / count * 1000:6.1f} ms/release")
    print("  targets: batch <= 2.0x the floor with a warm cache, <= 3.0x from an empty cache")
    return warm_cache


def growth_report(work: Path, pool: list, sizes: list[int], repeat: int) -> None:
    print(f"\n== growth: batch --verify-against-dir, warm cache, over N releases made from the fixtures "
          f"(median of {repeat} up to 100 releases, else 1; command and floor in turn)")
    print(f"  {'releases':>8} {'batch':>24} {'per release':>12} {'one build':>24} {'builds of ' + str(GROUP):>24}  "
          "ratio   memory: largest process, whole tree")
    cache = work / "cache-growth"
    for size in sizes:
        times = repeat if size <= 100 else 1
        # the same mix of chart versions and cases at every size: every (len/size)-th case
        sample = [pool[i * len(pool) // size] for i in range(size)] if size <= len(pool) else pool
        fleet = Fleet(sample, size, work, f"n{size}")
        first = fleet.output()
        process_run(fleet.batch(first), cache)  # the library renders of these building blocks
        floor = Floor(overlays_in(first), work)
        one = floor.count <= ONE_BUILD_MAX
        runs, bases = paired(lambda: process_run(fleet.batch(fleet.output()), cache),
                             floor.one_build if one else floor.grouped, times)
        grouped = [floor.grouped() for _ in range(times)] if one else bases
        m, g = median_run(runs), median_run(grouped)
        wall, _ = ratio(runs, bases)
        one_text = shown(median_run(bases)) if one else "(not measured)"
        print(f"  {size:>8} {shown(m):>24} {m.wall / size * 1000:9.1f} ms {one_text:>24} {shown(g):>24}  "
              f"{wall:5.2f}x  {mib(m.largest)}, {mib(m.tree)}" + (f"; exit {m.code}" if m.code else ""))
    print(f"  ratio: batch / one build up to {ONE_BUILD_MAX} overlays, else / builds of {GROUP}. Targets: time per "
          "release about constant (linear growth); batch of 1,000 under 1 GiB")


# --- report ---------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per single-release measurement (median)")
    parser.add_argument("--fleet-repeat", type=int, default=3, help="runs per fleet measurement (median)")
    parser.add_argument("--fleet", type=int, default=0, help="releases in the fleet [default: every fixture case]")
    parser.add_argument("--sizes", default="10,100,1000", help="fleet sizes for the growth runs")
    parser.add_argument("--cases", default=",".join(DEFAULT_CASES), help="fixtures for the per-release ratio")
    parser.add_argument("--skip-fleet", action="store_true", help="skip the fleet runs")
    parser.add_argument("--skip-growth", action="store_true", help="skip the growth runs")
    args = parser.parse_args(argv)
    if not CLI.exists():
        raise SystemExit(f"bench: {CLI} not found; run `make install` first")
    compileall.compile_dir(ROOT / "migrate", quiet=1)  # as `pip install` does for a wheel
    work = Path(tempfile.mkdtemp(prefix="h2k-bench-"))
    os.environ[CACHE_ENV] = str(work / "cache")  # this process's migrations (in-process)
    os.environ[STATE_ENV] = str(work / "state")  # the cache's signing key: not the user's either
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    try:
        report(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(args: argparse.Namespace, work: Path) -> None:
    print(f"== machine ({time.strftime('%Y-%m-%d %H:%M %Z')})")
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
    ratio_ = verify / bare
    print("\n== verify --chart of a tiny local chart / bare helm template + kustomize build")
    print(f"  verify {ms(verify.wall)} / {ms(verify.cpu)} CPU; bare {ms(bare.wall)} / {ms(bare.cpu)} CPU; "
          f"ratio {ratio_.wall:.2f}x wall, {ratio_.cpu:.2f}x CPU")
    if args.skip_fleet and args.skip_growth:
        return
    sys.path.insert(0, str(ROOT / "bench"))
    import fleet as fleets

    pool = fleets.cases()
    if not args.skip_fleet:
        newest = [case for case in pool if case.version == NEWEST]
        fleet_report(work, newest, len(newest), args.fleet_repeat, "newest", f"the {NEWEST} fixtures")
        fleet_report(work, pool, args.fleet or len(pool), max(1, args.fleet_repeat // 3), "all",
                     "every fixture case of every chart version")
    if not args.skip_growth:
        growth_report(work, pool, [int(n) for n in args.sizes.split(",") if n], args.fleet_repeat)


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


if __name__ == "__main__":
    sys.exit(main())
