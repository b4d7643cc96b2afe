"""Read an input file with a size limit, without ever blocking for good.

Values and manifests may come from a regular file, or from a pipe (``<(helm get
values RELEASE)``, a named FIFO) or a device. A regular file is read up to the
limit; anything else is opened without blocking and read as its data comes,
up to the limit and within the commands' time limit (``--timeout``), so that a
FIFO nobody writes to, or ``/dev/zero``, ends in an error instead of a hang or
an exhausted memory.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from pathlib import Path

_CHUNK = 1 << 16


class TooLarge(Exception):
    """The file holds more than the limit."""


class NoWriter(Exception):
    """A pipe gave no data and no end within the time limit."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        super().__init__(f"nothing was written to the pipe within {seconds:g}s")


def read_limited(path: str | Path, limit: int, *, seconds: float | None = None) -> bytes:
    """The bytes of ``path``; TooLarge beyond ``limit`` bytes, NoWriter when a pipe stays silent
    for ``seconds`` (default: the commands' time limit), OSError when it cannot be read
    (a directory gives EISDIR)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise TooLarge()
            os.set_blocking(fd, True)
            return _read_regular(fd, limit)
        return _read_stream(fd, limit, _seconds(seconds))
    finally:
        os.close(fd)


def _seconds(seconds: float | None) -> float:
    if seconds is not None:
        return seconds
    from migrate import tools

    return tools.command_timeout()


def _read_regular(fd: int, limit: int) -> bytes:
    chunks = bytearray()
    while True:
        data = os.read(fd, min(_CHUNK << 4, limit + 1 - len(chunks)) or 1)
        if not data:
            return bytes(chunks)
        chunks += data
        if len(chunks) > limit:
            raise TooLarge()


def _read_stream(fd: int, limit: int, seconds: float) -> bytes:
    """A pipe, FIFO or device: wait for data (or its end) at most ``seconds`` in total.
    On Linux a FIFO without a writer yet reports nothing, not an end, so waiting is bounded."""
    deadline = time.monotonic() + seconds
    chunks = bytearray()
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise NoWriter(seconds)
        try:
            data = os.read(fd, _CHUNK)
        except BlockingIOError:  # woken, but the data went elsewhere
            continue
        if not data:
            return bytes(chunks)
        chunks += data
        if len(chunks) > limit:
            raise TooLarge()
