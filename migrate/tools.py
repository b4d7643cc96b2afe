"""Find and run the external programs we rely on: Kustomize (or kubectl) and Helm.

This is the only module that starts subprocesses. Every failure becomes a
:class:`ToolError` (exit 3) whose message is one line: which tool, which
version was found, and how to get a good one.

Every command runs in a process group of its own, under a time limit
(``--timeout`` / ``$HELM_TO_KUSTOMIZE_TIMEOUT``, default :data:`DEFAULT_TIMEOUT`
seconds) and with its output read as it comes, up to :data:`MAX_OUTPUT_BYTES`.
When either runs out, or the run is interrupted, the whole group is killed;
a command that was stopped is never started again.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate.errors import InputError, ToolError, exit_for_signal

if TYPE_CHECKING:
    from concurrent.futures import Future

KUSTOMIZE_ENV = "HELM_TO_KUSTOMIZE_KUSTOMIZE"
HELM_ENV = "HELM_TO_KUSTOMIZE_HELM"
MIN_KUSTOMIZE = (5, 0, 0)
MIN_KUBECTL = (1, 27, 0)
MIN_HELM = (3, 0, 0)


def _how_to_get(root: Path) -> str:
    """How to get the tools: ``make tools`` in a source checkout, else the module it runs."""
    if (root / "Makefile").is_file() and (root / "pyproject.toml").is_file():
        return "run `make tools` or see README 'Set up'"
    return ("run `python -m migrate.provision` (puts kubectl with Kustomize and Helm into ./.tools/bin), or install "
            "kustomize >= 5 (or kubectl >= 1.27) and helm >= 3")


HOW_TO_GET = _how_to_get(Path(__file__).resolve().parent.parent)
PROBE_TIMEOUT = 30
TIMEOUT_ENV = "HELM_TO_KUSTOMIZE_TIMEOUT"
DEFAULT_TIMEOUT = 300.0  # seconds, for each command
RUN_TIMEOUT = DEFAULT_TIMEOUT  # the old name
MAX_OUTPUT_BYTES = 64 << 20  # of a command's stdout; far above any render of one release
MAX_ERROR_BYTES = 1 << 20  # of its stderr kept for the message (the rest is read and dropped)
_CHUNK = 1 << 16

Version = tuple[int, int, int]


def _project_root() -> Path:
    """The source checkout holding this package, else the working directory."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


LOCAL_TOOLS_DIR = _project_root() / ".tools" / "bin"


_configured: float | None = None  # set by the command line (--timeout)


def set_timeout(seconds: float | None) -> None:
    """The limit for every command of this process (None: $HELM_TO_KUSTOMIZE_TIMEOUT, else the default)."""
    global _configured
    _configured = _checked_timeout(seconds, "--timeout") if seconds is not None else None


@contextlib.contextmanager
def timeout_set(seconds: float | None) -> Iterator[None]:
    """``--timeout`` for the duration of one command, also for its worker processes (through the
    environment); both are restored afterwards."""
    global _configured
    saved, saved_env = _configured, os.environ.get(TIMEOUT_ENV)
    try:
        if seconds is not None:
            set_timeout(seconds)
            os.environ[TIMEOUT_ENV] = repr(float(seconds))
        yield
    finally:
        _configured = saved
        if saved_env is None:
            os.environ.pop(TIMEOUT_ENV, None)
        else:
            os.environ[TIMEOUT_ENV] = saved_env


def command_timeout() -> float:
    """Seconds each command may run: --timeout, else $HELM_TO_KUSTOMIZE_TIMEOUT, else the default."""
    if _configured is not None:
        return _configured
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"{text!r} is not a number of seconds", key=f"${TIMEOUT_ENV}") from None
    return _checked_timeout(value, f"${TIMEOUT_ENV}")


def _checked_timeout(value: float, where: str) -> float:
    if not value > 0 or value == float("inf"):
        raise InputError(f"{value!r} is not a positive number of seconds", key=where)
    return float(value)


class CommandFailed(ToolError):
    """An external command exited non-zero; carries the command and its output."""

    def __init__(self, cmd: Sequence[str], returncode: int, stdout: str, stderr: str) -> None:
        self.cmd = list(cmd)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        super().__init__(f"`{_shown(cmd)}` failed (exit {returncode}): {_first_error_line(stderr or stdout)}")


@dataclass(frozen=True)
class Tool:
    """A usable tool: the argv prefix that runs it and the version it reported."""

    name: str
    argv: tuple[str, ...]
    version: str

    @property
    def path(self) -> str:
        return self.argv[0]


class CommandStopped(ToolError):
    """A command ran out of time or output, or was killed: never run again (not a CommandFailed)."""


def run(cmd: Sequence[str], *, cwd: Path | None = None, timeout: float | None = None,
        limit: int = MAX_OUTPUT_BYTES) -> str:
    """Run ``cmd`` and return its stdout; raise ToolError on a missing program, a failure, a
    run longer than ``timeout`` seconds (default: :func:`command_timeout`) or more than ``limit``
    bytes of output. The command runs in a new session, so that its whole process group can
    be killed; it is killed when this call is left early for any reason (Ctrl-C included)."""
    if _stopping is not None:  # interrupted: nothing new is started (a batch worker's next job)
        _raise_stopping()
    seconds = command_timeout() if timeout is None else timeout
    deadline = time.monotonic() + seconds
    proc = spawn(cmd, cwd=cwd)
    try:
        out, err = _collect(proc, cmd, deadline, seconds, limit)
    except BaseException:
        _stop(proc)
        raise
    finally:
        release(proc)
    stderr = err.decode("utf-8", errors="replace")
    if proc.returncode < 0 and _stopping is not None:  # killed by :func:`interrupt`, in another thread
        _raise_stopping()
    if proc.returncode < 0:  # killed by a signal: someone stopped it, so it is not run again
        name = _signal_name(-proc.returncode)
        raise CommandStopped(f"`{_shown(cmd)}` was killed by {name}: {_first_error_line(stderr)}")
    stdout = _decoded(out, cmd)
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, stdout, stderr)
    return stdout


def spawn(cmd: Sequence[str], *, cwd: Path | None = None, **popen: Any) -> subprocess.Popen:
    """Start ``cmd`` as :func:`run` does (its own session, output read through pipes, known to
    :func:`stop_all`, with :func:`go_environment` unless ``env`` is given); ToolError when it
    cannot start. :func:`release` it when done."""
    popen.setdefault("env", go_environment())
    try:
        proc = subprocess.Popen(list(cmd), cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True, **popen)
    except FileNotFoundError as exc:
        raise ToolError(f"`{cmd[0]}` not found: {HOW_TO_GET}") from exc
    except PermissionError as exc:
        raise ToolError(f"`{cmd[0]}` is not executable: {HOW_TO_GET}") from exc
    except OSError as exc:
        raise ToolError(f"`{cmd[0]}` cannot run ({exc.strerror}): {HOW_TO_GET}") from exc
    with _LIVE_LOCK:
        _LIVE[proc] = os.getpid()
    if _stopping is not None:  # interrupted while it started: :func:`stop_all` may have missed it
        _stop(proc)
        release(proc)
        _raise_stopping()
    return proc


# Kustomize, kubectl and Helm are Go programs. At Go's default (GOGC=100) a build of one overlay
# spends about a quarter of its CPU collecting garbage; GOGC=400 lets the heap grow to five times
# what is live before a collection. Measured with kubectl: one overlay 0.75x the CPU and 0.84x
# the time (peak 68 -> 74 MiB); one build of 51 overlays 0.76x the CPU and 0.90x the time (peak
# 100 -> 133 MiB). What the user set (GOGC, or GOMEMLIMIT to bound memory) is kept.
GO_GC = "400"


def go_environment() -> dict[str, str] | None:
    """The environment of a command: this process's, with :data:`GO_GC` unless GOGC or
    GOMEMLIMIT is set (None: this process's as it is)."""
    if "GOGC" in os.environ or "GOMEMLIMIT" in os.environ:
        return None
    return {**os.environ, "GOGC": GO_GC}


def release(proc: subprocess.Popen) -> None:
    """Forget a command :func:`spawn` started and close its pipes (it is left to end)."""
    with _LIVE_LOCK:
        _LIVE.pop(proc, None)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def _collect(proc: subprocess.Popen, cmd: Sequence[str], deadline: float, seconds: float,
             limit: int) -> tuple[bytes, bytes]:
    """Read stdout and stderr as they come until both end and the command exits, within the
    time and size limits."""
    out, err = bytearray(), bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ, out)  # type: ignore[arg-type]
        selector.register(proc.stderr, selectors.EVENT_READ, err)  # type: ignore[arg-type]
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                _stop(proc)
                raise _timed_out(cmd, seconds)
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, _CHUNK)
                if not data:
                    selector.unregister(key.fileobj)
                elif key.data is out:
                    out += data
                    if len(out) > limit:
                        _stop(proc)
                        raise CommandStopped(f"`{_shown(cmd)}` printed more than {_size(limit)}, the limit "
                                             "for a tool's output; it was stopped")
                elif len(err) < MAX_ERROR_BYTES:
                    err += data[: MAX_ERROR_BYTES - len(err)]
    try:
        proc.wait(max(deadline - time.monotonic(), 0))
    except subprocess.TimeoutExpired:
        _stop(proc)
        raise _timed_out(cmd, seconds) from None
    return bytes(out), bytes(err)


def _timed_out(cmd: Sequence[str], seconds: float) -> CommandStopped:
    return CommandStopped(f"`{_shown(cmd)}` did not finish within {seconds:g}s and was stopped; allow more "
                          f"with --timeout SECONDS or ${TIMEOUT_ENV}")


def _decoded(data: bytes, cmd: Sequence[str]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolError(f"`{_shown(cmd)}` printed output that is not UTF-8 text (byte {exc.start})") from None


def _stop(proc: subprocess.Popen) -> None:
    """Kill the command's whole process group and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(OSError):  # gone already, or not ours to signal
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


# The commands running now (each with the process that started it: forked workers inherit
# the table, and must not kill what their parent runs).
_LIVE: dict[subprocess.Popen, int] = {}
_LIVE_LOCK = threading.RLock()  # also taken by a signal handler, in the main thread


_stopping: int | None = None  # the signal that interrupted this process


def interrupt(signum: int) -> None:
    """After SIGINT or SIGTERM (from the signal handler): kill every command this process runs,
    in whatever thread, and start none any more; :func:`run` raises as the signal did
    (KeyboardInterrupt, SystemExit), so that each migration cleans up as after Ctrl-C."""
    global _stopping
    _stopping = signum
    stop_all()


def _raise_stopping() -> None:
    if _stopping == signal.SIGINT:
        raise KeyboardInterrupt
    raise SystemExit(exit_for_signal(_stopping or 0))


def stop_all() -> None:
    """Kill every command this process still runs (those of background threads too), e.g. when
    the run is interrupted or ends with an error while a background render goes on."""
    with _LIVE_LOCK:
        live = [proc for proc, owner in _LIVE.items() if owner == os.getpid()]
    for proc in live:
        if proc.returncode is None:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 and limit % (1 << 20) == 0 else f"{limit} bytes"


SIGNAL_POLL = 0.25  # seconds the main thread waits at most before it looks for a signal again


def as_completed(futures: Iterable[Future]) -> Iterator[Future]:
    """``concurrent.futures.as_completed`` in steps of :data:`SIGNAL_POLL`. Python runs a signal
    handler in the main thread only; when the kernel hands the signal to another thread, the
    handler waits until the main thread runs Python code again, which a wait without a time
    limit does not let it do: a batch worker would wait for migrations that wait for a build
    that only the handler stops (Ctrl-C would not stop the batch)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=SIGNAL_POLL, return_when=FIRST_COMPLETED)
        yield from done


def in_order(futures: list[Future]) -> list[Any]:
    """The results of ``futures`` in their order, as ``Executor.map`` gives them, waited for as
    :func:`as_completed` waits (the first error raised once all are done)."""
    for _ in as_completed(futures):
        pass
    return [future.result() for future in futures]


class Background:
    """A call run in a daemon thread; :meth:`result` waits and returns it or raises its error."""

    def __init__(self, call: Callable[[], Any], *, start: bool = True) -> None:
        self._call = call
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._lock = threading.Lock()
        self._started = False
        if start:
            self.start()

    def start(self) -> None:
        """Start a call made with ``start=False`` (once whoever must wait for it holds it);
        starting it again does nothing."""
        with self._lock:
            if not self._started:
                self._started = True
                self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Any:
        """The call's value, or its error raised; a call nobody started runs now."""
        self.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self) -> None:
        """Wait for the call to end, whatever its outcome (nothing to wait for if never started)."""
        if self._thread.is_alive():
            self._thread.join()


def find_kustomize(option: str | None = None) -> Tool:
    """Kustomize >= 5: --kustomize, $HELM_TO_KUSTOMIZE_KUSTOMIZE, .tools/bin, PATH kustomize, PATH kubectl."""
    explicit = option or os.environ.get(KUSTOMIZE_ENV)
    if explicit:
        return _kustomize_tool(_existing(explicit, "kustomize"))
    return _first_usable("kustomize", _kustomize_candidates(), _kustomize_tool)


def _kustomize_candidates() -> list[Path | str | None]:
    return [LOCAL_TOOLS_DIR / "kustomize", LOCAL_TOOLS_DIR / "kubectl", shutil.which("kustomize"),
            shutil.which("kubectl")]


def kustomize_prefix(option: str | None = None) -> tuple[str, ...] | None:
    """The build command (without its directory) of the program :func:`find_kustomize` would
    try first, when an earlier run's version probe of that very program (in the cache) says
    it is usable, so that nothing runs to find it and no program is given build arguments
    before its version is checked. None otherwise (no cache entry, a script, none found);
    ToolError as :func:`find_kustomize` raises it for a program that is missing or too old."""
    explicit = option or os.environ.get(KUSTOMIZE_ENV)
    if explicit:
        path = _existing(explicit, "kustomize")
    else:
        path = next((str(c) for c in _kustomize_candidates() if c is not None and Path(c).is_file()), None)
    if path is None or not _probe_known(path, _kustomize_probe(path)):
        return None
    tool = _kustomize_tool(path)  # from the cached probe: nothing runs
    return (*tool.argv, *_build_verb(tool.path))


def _kustomize_probe(path: str) -> tuple[str, ...]:
    return ("version", "--client") if _is_kubectl(path) else ("version",)


def _build_verb(path: str) -> tuple[str, ...]:
    return ("kustomize",) if _is_kubectl(path) else ("build",)


def find_helm(option: str | None = None) -> Tool:
    """Helm >= 3: --helm, $HELM_TO_KUSTOMIZE_HELM, .tools/bin, PATH helm."""
    explicit = option or os.environ.get(HELM_ENV)
    if explicit:
        return _helm_tool(_existing(explicit, "helm"))
    return _first_usable("helm", [LOCAL_TOOLS_DIR / "helm", shutil.which("helm")], _helm_tool)


def kustomize_build(overlay_dir: Path, kustomize: str | None = None) -> str:
    """Render ``overlay_dir`` with real Kustomize and return the YAML text."""
    overlay_dir = Path(overlay_dir)
    if not overlay_dir.is_dir():
        raise InputError("overlay directory not found", file=str(overlay_dir))
    if not any((overlay_dir / name).is_file() for name in _KUSTOMIZATION_FILES):
        raise InputError("no kustomization.yaml in the overlay directory", file=str(overlay_dir))
    tool = find_kustomize(kustomize)
    cmd = [*tool.argv, *_build_verb(tool.path), str(overlay_dir)]
    text = _early_build(cmd, overlay_dir)
    if text is None:
        text = run(cmd)
    check_objects(text, cmd)
    return text


def _early_build(cmd: list[str], overlay_dir: Path) -> str | None:
    """``cmd``'s output from the Kustomize started early for it (migrate.earlybuild), if there
    is one and it can stand for the direct build; else None."""
    early = sys.modules.get("migrate.earlybuild")
    if early is None or early._pending is None or _sets_build_options(overlay_dir):
        return None
    taken = early.take(cmd[:-1])
    return taken.build(overlay_dir, cmd) if taken is not None else None


# What Kustomize applies only in the kustomization at the root of a build (a nested one's is
# ignored): an overlay that sets them builds otherwise under another root (fleetbuild, earlybuild).
ROOT_ONLY_FIELDS = ("buildMetadata", "sortOptions")


def _sets_build_options(overlay_dir: Path) -> bool:
    """Whether the kustomization (its text: a mention is enough) may set :data:`ROOT_ONLY_FIELDS`;
    such a build is not run under another root."""
    for name in _KUSTOMIZATION_FILES:
        path = overlay_dir / name
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                return True
            return any(field in text for field in ROOT_ONLY_FIELDS)
    return True


def check_objects(text: str, cmd: Sequence[str], *, objects: bool = True) -> None:
    """Kustomize prints a stream of objects (Helm at least YAML, with ``objects=False``):
    anything else means the tool failed (exit 3), not that the input is bad. Composing is
    enough (a millisecond for one release's render)."""
    import yaml

    from migrate import yamlio

    try:
        for number, node in enumerate(yamlio.compose_all(text)):
            if node is None or not objects:
                continue
            problem = _object_problem(node)
            if problem:
                raise ToolError(f"`{_shown(cmd)}` printed a document that is not a Kubernetes object "
                                f"(document {number + 1}: {problem})")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ToolError(f"`{_shown(cmd)}` printed invalid YAML{where}: {problem}") from None


def _object_problem(node: Any) -> str | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return f"a {node.id}, not a map"
    fields = {key.value: value for key, value in node.value if isinstance(key, yaml.ScalarNode)}
    kind = fields.get("kind")
    if not isinstance(kind, yaml.ScalarNode) or not kind.value:
        return "no kind"
    metadata = fields.get("metadata")
    names = ([value for key, value in metadata.value if isinstance(key, yaml.ScalarNode) and key.value == "name"]
             if isinstance(metadata, yaml.MappingNode) else [])
    if not names or not isinstance(names[0], yaml.ScalarNode) or not names[0].value:
        return f"a {kind.value} without metadata.name"
    return None


def helm_template(
    chart: str,
    values_file: Path | None,
    release: str,
    namespace: str | None,
    helm: str | None = None,
    version: str | None = None,
) -> str:
    """Render ``chart`` with real ``helm template`` and return the YAML text; ``version`` is
    Helm's ``--version`` (for a repository or OCI reference)."""
    tool = find_helm(helm)
    cmd = [*tool.argv, "template", release, str(chart)]
    if values_file is not None:
        cmd += ["--values", str(values_file)]
    if namespace:
        cmd += ["--namespace", namespace]
    if version:
        cmd += ["--version", version]
    text = run(cmd)
    check_objects(text, cmd, objects=False)
    return text


_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def _existing(path: str, name: str) -> str:
    """An explicitly named program must exist; PATH lookup for bare names."""
    found = shutil.which(path) if os.sep not in path else (path if Path(path).exists() else None)
    if not found:
        raise ToolError(f"{name} not found at `{path}`: {HOW_TO_GET}")
    return found


def _first_usable(name: str, candidates: list[Path | str | None], make_tool: Callable[[str], Tool]) -> Tool:
    """The first candidate that exists and is new enough; else the reason the best one failed."""
    first_error: ToolError | None = None
    for candidate in candidates:
        if candidate is None or not Path(candidate).is_file():
            continue
        try:
            return make_tool(str(candidate))
        except ToolError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    where = f"--{name}, ${_env_for(name)}, .tools/bin, PATH"
    raise ToolError(f"{name} not found (looked in {where}): {HOW_TO_GET}")


def _env_for(name: str) -> str:
    return KUSTOMIZE_ENV if name == "kustomize" else HELM_ENV


def _is_kubectl(path: str) -> bool:
    return Path(path).name.startswith("kubectl")


def _kustomize_tool(path: str) -> Tool:
    if _is_kubectl(path):
        kubectl, kustomize = _kubectl_versions(path)
        if kubectl < MIN_KUBECTL or kustomize < MIN_KUSTOMIZE:
            raise ToolError(
                f"kubectl {_fmt(kubectl)} (Kustomize {_fmt(kustomize)}) at {path} is too old: "
                f"need kubectl >= {_fmt(MIN_KUBECTL)} or kustomize >= {_fmt(MIN_KUSTOMIZE)}; {HOW_TO_GET}"
            )
        return Tool("kustomize", (path,), _fmt(kustomize))
    version = _probe_version(path, _kustomize_probe(path), "kustomize")
    if version < MIN_KUSTOMIZE:
        raise ToolError(
            f"kustomize {_fmt(version)} at {path} is too old: need kustomize >= {_fmt(MIN_KUSTOMIZE)}; {HOW_TO_GET}"
        )
    return Tool("kustomize", (path,), _fmt(version))


def _helm_tool(path: str) -> Tool:
    version = _probe_version(path, ("version", "--short"), "helm")
    if version < MIN_HELM:
        raise ToolError(f"helm {_fmt(version)} at {path} is too old: need helm >= {_fmt(MIN_HELM)}; {HOW_TO_GET}")
    return Tool("helm", (path,), _fmt(version))


_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


def _probe_version(path: str, args: tuple[str, ...], name: str) -> Version:
    text = _probe(path, args, name)
    match = _VERSION.search(text)
    if match is None:
        raise ToolError(f"{name} at {path} printed no version ({_first_error_line(text)!r}): {HOW_TO_GET}")
    return _as_version(match)


def _kubectl_versions(path: str) -> tuple[Version, Version]:
    """kubectl's own version and the version of the Kustomize built into it."""
    text = _probe(path, _kustomize_probe(path), "kubectl")
    client = re.search(r"Client Version:.*?v?(\d+)\.(\d+)\.(\d+)", text)
    kustomize = re.search(r"Kustomize Version:.*?v?(\d+)\.(\d+)\.(\d+)", text)
    if client is None:
        raise ToolError(f"kubectl at {path} printed no client version: {HOW_TO_GET}")
    return _as_version(client), _as_version(kustomize) if kustomize else (0, 0, 0)


def _probe_key(path: str, args: tuple[str, ...]) -> str | None:
    """The cache key of a probe; None for a script (a version manager's shim may run another
    program each time: never cached)."""
    from migrate import cache

    try:
        return None if _is_script(path) else cache.digest(cache.program_identity(path), args)
    except OSError:
        return None


def _probe_known(path: str, args: tuple[str, ...]) -> bool:
    """Whether the probe's output is in the cache."""
    from migrate import cache

    key = _probe_key(path, args)
    return key is not None and cache.read("probes", key) is not None


@lru_cache(maxsize=None)
def _probe(path: str, args: tuple[str, ...], name: str) -> str:
    """Run a version probe once per program per process, and once per program build (on-disk cache)."""
    from migrate import cache

    key = _probe_key(path, args)
    if key is not None:
        known = cache.read("probes", key)
        if known is not None:
            return known
    try:
        text = run([path, *args], timeout=min(PROBE_TIMEOUT, command_timeout()))
    except ToolError as exc:
        reason = str(exc).removesuffix(f": {HOW_TO_GET}")
        raise ToolError(f"{name} at {path} does not work ({reason}): {HOW_TO_GET}") from exc
    if key is not None:
        cache.write("probes", key, text)
    return text


def _is_script(path: str) -> bool:
    """Whether ``path`` starts with ``#!`` (never blocks: a FIFO or device counts as a script,
    so that nothing about it is cached, and running it fails)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return True
        return os.pread(fd, 2, 0) == b"#!"
    finally:
        os.close(fd)


def clear_cache() -> None:
    """Forget version probes (for tests that swap programs under the same path)."""
    _probe.cache_clear()


def _as_version(match: re.Match[str]) -> Version:
    return int(match[1]), int(match[2]), int(match[3])


def _fmt(version: Version) -> str:
    return "v" + ".".join(map(str, version))


def _shown(cmd: Sequence[str]) -> str:
    return " ".join(str(part) for part in cmd)


def _first_error_line(text: str) -> str:
    """The most telling single line of a tool's output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.lower().startswith("error"):
            return line
    return lines[-1] if lines else "no output"
