"""A Kustomize build started before the directory it builds is written.

Much of a small build is Kustomize starting: kubectl spends about 30 ms of a 55 ms build on
this machine before it reads a kustomization. So ``helm-to-kustomize VALUES -o DIR`` in a new
process starts Kustomize first thing (:func:`start`, from ``migrate.cli.main`` once the signal
handlers are in place, before the commands are imported), on a temporary
root whose ``kustomization.yaml`` is a FIFO. Kustomize starts while Python imports and fits,
opens the FIFO and waits. The run's first build with that program (``tools.kustomize_build``)
takes it (:func:`take`): :meth:`Early.build` writes ``resources: [DIRECTORY]`` (relative) into
the FIFO and collects the output as any command is collected (time limit, output limit,
interrupt). The root adds nothing but that one resource, so the output is the directory's own
build. A build that fails, or whose Kustomize did not read the FIFO, is not trusted: the caller
runs it again directly, so that what the user sees is what a direct build gives. Only a program
an earlier run has checked is started early (``tools.kustomize_prefix``: its version probe is
in the cache), so that no program gets build arguments before its version is checked.

Nothing is left behind. Kustomize is killed when this process dies (PR_SET_PDEATHSIG), even
by SIGKILL. This process holds the FIFO open for reading and writing from the start, so
Kustomize's open never waits, and once it has opened the FIFO, the end of this process is also
the end of its file (an empty kustomization: Kustomize exits). A build nobody takes is killed
with the run's other commands (``tools.stop_all``); every early build still open at exit is
stopped and its root removed; a process forked from this one closes the FIFO. A start that
fails for any reason starts nothing: every build then starts when it is asked for.

Linux only (PR_SET_PDEATHSIG, a FIFO opened for reading and writing, FIONREAD on it). No
library does this.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

# The commands that build with Kustomize once, early in the run; the default command is migrate.
COMMANDS = ("migrate", "verify", "batch")  # every command of migrate.cli (a test keeps them in step)
EARLY = ("migrate",)
_KUSTOMIZATION = "kustomization.yaml"
_POLL = 0.0005  # seconds between looks at whether Kustomize has read the FIFO

_lock = threading.Lock()
_pending: Early | None = None
_open: set[Early] = set()  # every early build of this process not yet closed (stopped at exit)


class Early:
    """A Kustomize process started on a root whose kustomization is a FIFO, waiting for it."""

    def __init__(self, prefix: Sequence[str]) -> None:
        from migrate import tools

        self.prefix = tuple(prefix)
        self.root = os.path.realpath(_new_root())
        fifo = os.path.join(self.root, _KUSTOMIZATION)
        self._fd = -1
        self.proc: subprocess.Popen | None = None
        with _lock:
            _open.add(self)
        try:
            os.mkfifo(fifo, 0o600)
            self._fd = os.open(fifo, os.O_RDWR | os.O_CLOEXEC)
            self.proc = tools.spawn([*self.prefix, self.root], preexec_fn=_dies_with(os.getpid()))
        except BaseException:  # a signal too: what was started is stopped
            self.stop()
            raise

    def build(self, directory: Path, shown: Sequence[str]) -> str | None:
        """The build of ``directory``, or None when it is not to be trusted (Kustomize failed
        or did not read the kustomization): the caller then builds directly. Raises as
        ``tools.run`` does when the build runs out of time or output, or is interrupted; its
        messages name ``shown``, the direct build's command."""
        from migrate import tools

        try:
            if tools._stopping is not None:
                tools._raise_stopping()
            seconds = tools.command_timeout()
            deadline = time.monotonic() + seconds
            relative = os.path.relpath(os.path.realpath(directory), self.root)
            # quoted (JSON is YAML): a path with " #" or ": " in it stays one path
            os.write(self._fd, f"resources:\n- {json.dumps(relative, ensure_ascii=False)}\n".encode())
            read = self._wait_read(deadline)
            os.close(self._fd)  # Kustomize now reads the end of the file
            self._fd = -1
            out, _ = tools._collect(self.proc, shown, deadline, seconds, tools.MAX_OUTPUT_BYTES)
        except BaseException:
            if self.proc.returncode is None:
                tools._stop(self.proc)
            raise
        finally:
            self.close()
        if self.proc.returncode < 0 and tools._stopping is not None:
            tools._raise_stopping()
        if self.proc.returncode != 0 or not read:
            return None
        return tools._decoded(out, shown)

    def _wait_read(self, deadline: float) -> bool:
        """Wait until Kustomize has read all that was written (True), or has exited (False)."""
        import fcntl
        import struct
        import termios

        while True:
            left = struct.unpack("i", fcntl.ioctl(self._fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            if left == 0:
                return True
            if self.proc.poll() is not None:
                return False
            if time.monotonic() > deadline:
                return False  # _collect reports the time limit
            time.sleep(_POLL)

    def stop(self) -> None:
        """Kill the process (a build nobody takes) and remove its root."""
        from migrate import tools

        if self.proc is not None:
            tools._stop(self.proc)
        self.close()

    def close(self) -> None:
        """Close the FIFO, forget the process and remove the root (the process is left to end)."""
        from migrate import tools

        with _lock:
            _open.discard(self)
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1
        if self.proc is not None:
            tools.release(self.proc)
        shutil.rmtree(self.root, ignore_errors=True)


def _dies_with(parent: int) -> Callable[[], None]:
    """For the child, between fork and exec: be killed when ``parent`` dies (PR_SET_PDEATHSIG),
    and exit at once if it already has. Called before any thread starts, as fork needs."""
    import ctypes
    import signal

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    set_death_signal = 1  # PR_SET_PDEATHSIG

    def arm() -> None:
        prctl(set_death_signal, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return arm


def _new_root() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="helm-to-kustomize-build-")


def supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "mkfifo")


def start(argv: Sequence[str]) -> None:
    """Start Kustomize for the run of ``argv`` (the command line after the program's name) when
    that run is a migration. It never refuses the command line (click parses it) and raises
    only what a signal raises."""
    global _pending
    if not supported() or not _builds_early(argv):
        return
    from migrate import tools

    if tools._stopping is not None:  # interrupted already
        return
    try:
        prefix = tools.kustomize_prefix(_option(argv, "--kustomize"))
        if prefix is None:
            return
        early = Early(prefix)
    except Exception:  # noqa: BLE001 - any failure only means that nothing starts early
        return
    with _lock:
        _pending = early


def take(prefix: Sequence[str]) -> Early | None:
    """The early build when it runs ``prefix`` (``kustomize build`` or ``kubectl kustomize``)
    in this process; an early build of another program is stopped, since nobody will take it."""
    global _pending
    with _lock:
        early, _pending = _pending, None
    if early is None:
        return None
    if early.prefix != tuple(prefix):
        early.stop()
        return None
    return early


def discard() -> None:
    """Stop every early build of this process that is still open: the one nobody took, and one
    left between its start and its end by a signal or an error (at exit)."""
    global _pending
    with _lock:
        _pending = None
        left = list(_open)
    for early in left:
        early.stop()


def _forget_in_child() -> None:
    """In a process forked from this one: the parent's FIFOs are closed (a writer kept open
    would keep its Kustomize waiting), and its builds are not this process's to take or stop."""
    global _pending
    for early in list(_open):
        if early._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(early._fd)
            early._fd = -1
    _open.clear()
    _pending = None


atexit.register(discard)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def _builds_early(argv: Sequence[str]) -> bool:
    if not argv or any(arg in ("-h", "--help", "--version") for arg in argv):
        return False
    first = argv[0]
    if first.startswith("-"):
        return False
    return first in EARLY or first not in COMMANDS


def _option(argv: Sequence[str], name: str) -> str | None:
    """The value of ``name VALUE`` or ``name=VALUE`` in ``argv`` (the last one, as click takes it)."""
    value = None
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value
