"""Find and run the external programs we rely on: Kustomize (or kubectl) and Helm.

This is the only module that starts subprocesses. Every failure becomes a
:class:`ToolError` (exit 3) whose message is one line: which tool, which
version was found, and how to get a good one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from migrate.errors import InputError, ToolError

KUSTOMIZE_ENV = "HELM_TO_KUSTOMIZE_KUSTOMIZE"
HELM_ENV = "HELM_TO_KUSTOMIZE_HELM"
MIN_KUSTOMIZE = (5, 0, 0)
MIN_KUBECTL = (1, 27, 0)
MIN_HELM = (3, 0, 0)
HOW_TO_GET = "run `make tools` or see README 'Set up'"
PROBE_TIMEOUT = 30
RUN_TIMEOUT = 300

Version = tuple[int, int, int]


def _project_root() -> Path:
    """The source checkout holding this package, else the working directory."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


LOCAL_TOOLS_DIR = _project_root() / ".tools" / "bin"


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


def run(cmd: Sequence[str], *, cwd: Path | None = None, timeout: float = RUN_TIMEOUT) -> str:
    """Run ``cmd`` and return its stdout; raise ToolError on a missing program or a failure."""
    try:
        proc = subprocess.run(
            list(cmd), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise ToolError(f"`{cmd[0]}` not found: {HOW_TO_GET}") from exc
    except PermissionError as exc:
        raise ToolError(f"`{cmd[0]}` is not executable: {HOW_TO_GET}") from exc
    except OSError as exc:
        raise ToolError(f"`{cmd[0]}` cannot run ({exc.strerror}): {HOW_TO_GET}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"`{_shown(cmd)}` timed out after {timeout:g}s") from exc
    if proc.returncode != 0:
        raise CommandFailed(cmd, proc.returncode, proc.stdout, proc.stderr)
    return proc.stdout


class Background:
    """A call run in a daemon thread; :meth:`result` waits and returns it or raises its error."""

    def __init__(self, call: Callable[[], Any], *, start: bool = True) -> None:
        self._call = call
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        if start:
            self._thread.start()

    def start(self) -> None:
        """Start a call made with ``start=False`` (once whoever must wait for it holds it)."""
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Any:
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
    candidates = [
        LOCAL_TOOLS_DIR / "kustomize",
        LOCAL_TOOLS_DIR / "kubectl",
        shutil.which("kustomize"),
        shutil.which("kubectl"),
    ]
    return _first_usable("kustomize", candidates, _kustomize_tool)


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
    verb = ("kustomize",) if _is_kubectl(tool.path) else ("build",)
    return run([*tool.argv, *verb, str(overlay_dir)])


def helm_template(
    chart: str,
    values_file: Path | None,
    release: str,
    namespace: str | None,
    helm: str | None = None,
) -> str:
    """Render ``chart`` with real ``helm template`` and return the YAML text."""
    tool = find_helm(helm)
    cmd = [*tool.argv, "template", release, str(chart)]
    if values_file is not None:
        cmd += ["--values", str(values_file)]
    if namespace:
        cmd += ["--namespace", namespace]
    return run(cmd)


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
    version = _probe_version(path, ("version",), "kustomize")
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
    text = _probe(path, ("version", "--client"), "kubectl")
    client = re.search(r"Client Version:.*?v?(\d+)\.(\d+)\.(\d+)", text)
    kustomize = re.search(r"Kustomize Version:.*?v?(\d+)\.(\d+)\.(\d+)", text)
    if client is None:
        raise ToolError(f"kubectl at {path} printed no client version: {HOW_TO_GET}")
    return _as_version(client), _as_version(kustomize) if kustomize else (0, 0, 0)


@lru_cache(maxsize=None)
def _probe(path: str, args: tuple[str, ...], name: str) -> str:
    """Run a version probe once per program per process, and once per program build (on-disk cache)."""
    from migrate import cache

    try:  # a script (a version manager's shim) may run another program each time: never cached
        key = None if _is_script(path) else cache.digest(cache.program_identity(path), args)
    except OSError:
        key = None
    if key is not None:
        known = cache.read("probes", key)
        if known is not None:
            return known
    try:
        text = run([path, *args], timeout=PROBE_TIMEOUT)
    except ToolError as exc:
        reason = str(exc).removesuffix(f": {HOW_TO_GET}")
        raise ToolError(f"{name} at {path} does not work ({reason}): {HOW_TO_GET}") from exc
    if key is not None:
        cache.write("probes", key, text)
    return text


def _is_script(path: str) -> bool:
    with open(path, "rb") as program:
        return program.read(2) == b"#!"


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
