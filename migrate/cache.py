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
A cache that cannot be read or written is skipped; it never fails a run.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

CACHE_ENV = "HELM_TO_KUSTOMIZE_CACHE"
OFF = ("off", "0", "false", "no")
FORMAT = "1"  # bump when the meaning of an entry changes


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
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


@lru_cache(maxsize=8)
def tree_digest(root: Path, folders: tuple[str, ...] = (".",)) -> str:
    """A digest of every file in ``folders`` under ``root`` (names and contents), once per process."""
    sha = hashlib.sha256()
    for folder in folders:
        for directory, dirs, files in sorted(os.walk(root / folder, followlinks=True)):  # as Kustomize reads
            dirs.sort()
            for name in sorted(files):
                path = Path(directory) / name
                sha.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
                try:
                    sha.update(path.read_bytes() + b"\0")
                except OSError:  # a dangling link, an editor's lock file: Kustomize reports it if it matters
                    sha.update(b"\1unreadable\0")
    return sha.hexdigest()


def read(section: str, key: str) -> str | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        return (directory / section / key).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def write(section: str, key: str, text: str) -> None:
    """Store ``text`` atomically (parallel runs may write the same entry); errors are ignored."""
    directory = cache_dir()
    if directory is None:
        return
    target = directory / section / key
    temporary = target.with_name(f".{key}.{os.urandom(4).hex()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, target)
    except OSError:
        try:
            temporary.unlink()
        except OSError:
            pass


class RenderCache:
    """Renders of kustomizations on one library with one Kustomize program."""

    SECTION = "renders"

    def __init__(self, *salt: Any) -> None:
        self._salt = salt

    def key(self, kustomization: dict) -> str:
        return digest(self._salt, kustomization)

    def get(self, key: str) -> str | None:
        """The stored render, or None when there is none or it is damaged (its checksum fails)."""
        stored = read(self.SECTION, key)
        if stored is None:
            return None
        text, _, check = stored.rpartition(_CHECK)
        return text if check == _checksum(text) else None

    def put(self, key: str, text: str) -> None:
        write(self.SECTION, key, f"{text}{_CHECK}{_checksum(text)}")


_CHECK = "\n# sha256 "


def _checksum(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
