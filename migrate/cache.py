"""An on-disk cache shared between runs: renders of the library part and tool version probes.

A migration renders the library part (accelerator, components, literals as
markers, namePrefix, namespace) before it writes any patch. That render depends
only on the Kustomize program, the library's files and the kustomization, so it
is kept under a digest of all three (the program by name, version and size); a
fleet of releases on the same building blocks, or a CI job that migrates again
with the cache restored, renders it once. Version probes are kept under the
program's path, size and modification time (those of scripts are not kept).

Where: ``$HELM_TO_KUSTOMIZE_CACHE``, else ``$XDG_CACHE_HOME/helm-to-kustomize``,
else ``~/.cache/helm-to-kustomize``. ``HELM_TO_KUSTOMIZE_CACHE=off`` turns it off.

The cache never fails a run. Every entry starts with a header line holding the
format, the length and the sha256 of its text; an entry that is not a regular
file, too large, cut short, changed or of another format is removed and made
again. An entry is written to a temporary file and renamed into place, so that
parallel runs writing one entry each leave a whole one; a cache that cannot be
read or written (read-only, full, not a directory) is skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

try:  # CPython's own SHA-256, as hashlib falls back to: hashlib loads OpenSSL, 2.5 ms of a new process
    from _sha2 import sha256  # Python >= 3.12
except ImportError:  # pragma: no cover - depends on the Python version
    try:
        from _sha256 import sha256  # Python 3.11
    except ImportError:
        from hashlib import sha256

CACHE_ENV = "HELM_TO_KUSTOMIZE_CACHE"
OFF = ("off", "0", "false", "no")
FORMAT = "2"  # bump when the meaning of an entry changes
MAX_ENTRY_BYTES = 64 << 20  # as a tool's output
_MAGIC = "helm-to-kustomize-cache"


def cache_dir() -> Path | None:
    """The cache directory, or None when the cache is off."""
    configured = os.environ.get(CACHE_ENV, "")
    if configured.lower() in OFF:
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "helm-to-kustomize"


def digest(*parts: Any) -> str:
    """A stable digest of JSON-serialisable ``parts``."""
    text = json.dumps([FORMAT, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return sha256(text.encode("utf-8")).hexdigest()


_LARGE = 1 << 16  # bytes: a body this large is hashed by OpenSSL


def bytes_digest(body: bytes) -> str:
    """The sha256 (hex) of an entry's body or a file's bytes; by hashlib (OpenSSL, five times as
    fast) when large (a compiled values schema is 600 KB), so that OpenSSL is loaded only then."""
    if len(body) > _LARGE:
        import hashlib

        return hashlib.sha256(body).hexdigest()
    return sha256(body).hexdigest()


def program_identity(path: str) -> list[Any]:
    """What changes when a program at ``path`` is replaced: its real path, size and mtime."""
    real = os.path.realpath(path)
    info = os.stat(real)
    return [real, info.st_size, info.st_mtime_ns]


def build_identity(path: str, version: str) -> list[Any]:
    """What tells one build of a program from another wherever it is unpacked: its name, the
    version it reports and its size (a CI runner unpacks the same build anew each run)."""
    real = os.path.realpath(path)
    return [os.path.basename(real), version, os.stat(real).st_size]


RACY_NS = 2_000_000_000  # a file changed this close to when its digest was kept is read again


_TREES = threading.Lock()


def tree_digest(root: Path, folders: tuple[str, ...] = (".",)) -> str:
    """A digest of every file in ``folders`` under ``root`` (names and contents), once per process
    (the migrations of a batch worker, starting together in threads, wait for the first)."""
    with _TREES:
        return _tree_digest(root, folders)


@lru_cache(maxsize=8)
def _tree_digest(root: Path, folders: tuple[str, ...]) -> str:
    """See :func:`tree_digest`.

    A new process would read and hash every file of the library (about 10 ms for its 150);
    instead the digest of each regular file is kept in the cache with its device, inode, size and
    modification time, and taken again while all four are unchanged, as ``git status`` does. A
    file modified less than two seconds before its digest was kept is hashed anew: a change
    within the file system's timestamp resolution could not be seen. The walk works on strings
    and ``os.scandir`` (a new process walks three trees of 350 files in all before its first
    render)."""
    memo_key = digest("tree", os.path.realpath(root), list(folders))
    known = _memo(memo_key)
    now = time.time_ns()
    seen: dict[str, list[Any]] = {}
    sha = sha256()
    for folder in folders:
        for relative, path in _files(os.path.join(root, folder), os.path.normpath(folder), set()):
            sha.update(relative.encode("utf-8") + b"\0")
            sha.update(_memo_digest(path, known.get(relative), relative, seen) + b"\0")
    if seen != known:
        write("trees", memo_key, json.dumps({"at": now, "files": seen}, separators=(",", ":")))
    return sha.hexdigest()


def _files(directory: str, relative: str, above: set[tuple[int, int]]) -> Iterator[tuple[str, str]]:
    """(path relative to the root, path) of every file below ``directory`` in name order, links
    followed as Kustomize follows them: a directory linked from two places is walked under both
    names. A link to a directory above it (a loop) counts as a file, whose digest is a marker;
    a directory that cannot be read counts as empty."""
    try:
        info = os.stat(directory)
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError:
        return
    identity = (info.st_dev, info.st_ino)
    above.add(identity)
    try:
        for entry in entries:
            name = entry.name if relative == "." else f"{relative}/{entry.name}"
            try:
                inner = os.stat(entry.path) if entry.is_dir() else None
            except OSError:
                inner = None
            if inner is not None and (inner.st_dev, inner.st_ino) not in above:
                yield from _files(entry.path, name, above)
            else:
                yield name, entry.path
    finally:
        above.discard(identity)


def _memo(key: str) -> dict[str, list[Any]]:
    """The kept file digests of a tree: relative path -> [device, inode, size, mtime_ns, digest]."""
    text = read("trees", key)
    if text is None:
        return {}
    try:
        kept = json.loads(text)
        at, files = kept["at"], kept["files"]
    except (ValueError, KeyError, TypeError):
        return {}
    if not isinstance(at, int) or not isinstance(files, dict):
        return {}
    # entries of files changed close to the time they were kept are not trusted
    return {path: entry for path, entry in files.items()
            if isinstance(entry, list) and len(entry) == 5 and isinstance(entry[3], int)
            and entry[3] < at - RACY_NS}


def _memo_digest(path: str, kept: list[Any] | None, relative: str, seen: dict[str, list[Any]]) -> bytes:
    """The file's digest: the kept one while the file's identity and times are unchanged."""
    try:
        info = os.stat(path)
    except OSError:
        return _file_digest(path)
    if not stat.S_ISREG(info.st_mode):
        return _file_digest(path)
    identity = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns]
    if kept is not None and kept[:4] == identity and isinstance(kept[4], str):
        seen[relative] = kept
        return kept[4].encode("ascii")
    value = _file_digest(path)
    if not value.startswith(b"\1"):
        seen[relative] = [*identity, value.decode("ascii")]
    return value


def _file_digest(path: str) -> bytes:
    """The sha256 of a regular file; a marker for anything else (a dangling link, an editor's
    lock file, a FIFO that would block): Kustomize reports it if it matters."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return b"\1unreadable"
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b"\1special"
        os.set_blocking(fd, True)
        sha = sha256()
        with os.fdopen(os.dup(fd), "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                sha.update(block)
        return sha.hexdigest().encode("ascii")
    except OSError:
        return b"\1unreadable"
    finally:
        os.close(fd)


def read(section: str, key: str) -> str | None:
    """The text stored under ``key``, or None when there is none; a damaged entry is removed."""
    body = read_bytes(section, key)
    if body is None:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:  # not text: damaged
        _remove(cache_dir() / section / key)  # type: ignore[operator]
        return None


def read_bytes(section: str, key: str) -> bytes | None:
    """The bytes stored under ``key``, or None when there is none; a damaged entry is removed."""
    directory = cache_dir()
    if directory is None:
        return None
    path = directory / section / key
    try:
        raw = _read_entry(path)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        raw = None
    body = _checked(raw) if raw is not None else None
    if body is None:
        _remove(path)
    return body


def _read_entry(path: Path) -> bytes:
    """The bytes of a regular file of at most MAX_ENTRY_BYTES (never a FIFO, device or link)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_ENTRY_BYTES + 4096:
            raise ValueError("not a cache entry")
        os.set_blocking(fd, True)
        with os.fdopen(os.dup(fd), "rb") as stream:
            return stream.read(MAX_ENTRY_BYTES + 4096)
    finally:
        os.close(fd)


def _checked(raw: bytes) -> bytes | None:
    """The body of an entry whose header matches it, else None."""
    header, newline, body = raw.partition(b"\n")
    parts = header.split(b" ")
    if not newline or len(parts) != 4 or parts[0] != _MAGIC.encode() or parts[1] != FORMAT.encode():
        return None
    if parts[2] != str(len(body)).encode() or parts[3] != bytes_digest(body).encode():
        return None
    return body


def _remove(path: Path) -> None:
    """Remove a damaged entry (a file or a link; a directory in its place is left alone)."""
    with contextlib.suppress(OSError):
        if not path.is_dir() or path.is_symlink():
            path.unlink()


def write(section: str, key: str, text: str) -> None:
    """Store ``text`` atomically (parallel runs may write the same entry); errors are ignored."""
    write_bytes(section, key, text.encode("utf-8"))


def write_bytes(section: str, key: str, body: bytes) -> None:
    """Store ``body`` as :func:`write` stores text."""
    directory = cache_dir()
    if directory is None:
        return
    if len(body) > MAX_ENTRY_BYTES:
        return
    header = f"{_MAGIC} {FORMAT} {len(body)} {bytes_digest(body)}\n".encode()
    target = directory / section / key
    temporary = target.with_name(f".{key}.{os.urandom(4).hex()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "xb") as stream:
            stream.write(header + body)
        os.replace(temporary, target)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink()


STATE_ENV = "XDG_STATE_HOME"
KEY_BYTES = 32


@lru_cache(maxsize=None)
def signing_key() -> bytes | None:
    """This user's secret for the entries that hold code (see :func:`write_signed`), kept
    outside the cache, so that a cache restored from elsewhere (a CI cache of another branch)
    cannot bring code that runs: ``$XDG_STATE_HOME/helm-to-kustomize/cache.key``, else
    ``~/.local/state/helm-to-kustomize/cache.key``, made on first use (mode 0600). None when
    it cannot be read or made, or is not this user's alone."""
    base = os.environ.get(STATE_ENV) or os.path.join(os.path.expanduser("~"), ".local", "state")
    path = Path(base) / "helm-to-kustomize" / "cache.key"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            try:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            except FileExistsError:  # made by a parallel run: read it
                continue
            except OSError:
                return None
            try:
                key = os.urandom(KEY_BYTES)
                os.write(fd, key)
                return key
            except OSError:
                return None
            finally:
                os.close(fd)
        except OSError:
            return None
        try:
            info = os.fstat(fd)
            mine = stat.S_ISREG(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
            key = os.read(fd, KEY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        return key if mine and len(key) == KEY_BYTES else None
    return None


def write_signed(section: str, key: str, body: bytes) -> None:
    """Store ``body`` with an HMAC under :func:`signing_key` (nothing without a key)."""
    import hmac

    secret = signing_key()
    if secret is not None:
        write_bytes(section, key, hmac.new(secret, body, "sha256").digest() + body)


def read_signed(section: str, key: str) -> bytes | None:
    """The body stored by :func:`write_signed`, or None when there is none, there is no key,
    or its HMAC does not match (then the entry is removed)."""
    import hmac

    secret = signing_key()
    stored = read_bytes(section, key) if secret is not None else None
    if stored is None:
        return None
    mac, body = stored[:32], stored[32:]
    if not hmac.compare_digest(mac, hmac.new(secret, body, "sha256").digest()):
        _remove(cache_dir() / section / key)  # type: ignore[operator]
        return None
    return body


class RenderCache:
    """Renders of kustomizations on one library with one Kustomize program."""

    SECTION = "renders"

    def __init__(self, *salt: Any) -> None:
        self._salt = salt

    def key(self, kustomization: dict) -> str:
        return digest(self._salt, kustomization)

    def get(self, key: str) -> str | None:
        """The stored render, or None when there is none or it is damaged (then it is removed)."""
        return read(self.SECTION, key)

    def put(self, key: str, text: str) -> None:
        write(self.SECTION, key, text)


tree_digest.cache_clear = _tree_digest.cache_clear  # type: ignore[attr-defined]
