"""Write a generated overlay: kustomization.yaml, patches/*.yaml and objects.yaml.

The writer lays files into a staging directory; :func:`commit` then moves the
staging directory into place in one rename, so that a failure at any point
leaves the user's output directory exactly as it was.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate import yamlio
from migrate.errors import InputError
from migrate.plan import Plan

OBJECTS_FILE = "objects.yaml"
PATCH_DIR = "patches"


@dataclass
class PatchFile:
    """One patch of the overlay: JSON 6902 operations, or the deletion of a library object.

    ``role`` says why it is there: ``content`` (what the values change in a library object),
    ``delete`` (a library object the release does not have), ``rename`` (Helm's name where
    no namePrefix gives it), ``fix`` (what a render still got wrong), ``stand-in`` (the last
    renames of objects.yaml items named like library objects)."""

    name: str
    kind: str
    target: str
    ops: list[dict] = field(default_factory=list)
    delete: dict | None = None
    last: bool = False  # applied after the namespace, from `transformers:` (see Overlay.kustomization)
    role: str = "content"
    comment: list[str] = field(default_factory=list)  # lines written above the operations

    @property
    def path(self) -> str:
        return f"{PATCH_DIR}/{self.name}.yaml"

    def body(self) -> Any:
        if self.delete is not None:
            return {"$patch": "delete", **self.delete}
        return self.ops


@dataclass
class Overlay:
    """The overlay as it is written: library blocks, literals, names and patches. Built from a
    plan (:meth:`from_plan`); the fit works on it, the plan stays as planned."""

    accelerator: str
    components: list[str]
    literals: dict[str, str]
    namespace: str | None
    library: str  # the library root, relative to the overlay
    patches: list[PatchFile] = field(default_factory=list)
    objects: list[dict] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    name_prefix: str | None = None
    images: list[dict] = field(default_factory=list)  # Kustomize `images:` entries (migrate.images)

    @classmethod
    def from_plan(cls, plan: Plan, library: str, header: list[str] | None = None) -> Overlay:
        return cls(plan.accelerator, list(plan.components), dict(plan.literals), plan.namespace, library,
                   header=list(header or []))

    def kustomization(self) -> dict:
        doc: dict[str, Any] = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        unset_only = bool(self.namespace) and self._keeps_own_namespaces()
        if self.namespace and not unset_only:
            doc["namespace"] = self.namespace
        if self.name_prefix:
            doc["namePrefix"] = self.name_prefix
        doc["resources"] = [f"{self.library}/accelerators/{self.accelerator}"]
        if self.objects:
            doc["resources"].append(OBJECTS_FILE)
        if self.components:
            doc["components"] = [f"{self.library}/components/{c}" for c in self.components]
        if self.literals:
            literals = [f"{k}={v}" for k, v in self.literals.items()]
            doc["configMapGenerator"] = [{"name": "model-config", "behavior": "merge", "literals": literals}]
        if self.images:
            doc["images"] = [dict(entry) for entry in self.images]
        patches = [p for p in self.patches if not p.last]
        if patches:
            doc["patches"] = [{"path": p.path, "target": {"kind": p.kind, "name": p.target}} for p in patches]
        transformers = []
        if unset_only:
            transformers.append(namespace_transformer(self.namespace))
        transformers += [patch_transformer(p) for p in self.patches if p.last]
        if transformers:
            doc["transformers"] = transformers
        return doc

    def _keeps_own_namespaces(self) -> bool:
        """Whether an object of objects.yaml names a namespace other than the release's: then
        the namespace is set only where none is (Kustomize's ``namespace:`` would move it)."""
        return any(object_namespace(obj) not in (None, self.namespace) for obj in self.objects)


def object_namespace(obj: dict) -> Any:
    meta = obj.get("metadata")
    return meta.get("namespace") if isinstance(meta, dict) else None


def patch_transformer(patch: PatchFile) -> str:
    """An inline PatchTransformer applying ``patch`` after every built-in transformer: it gives
    an object of objects.yaml its name when that name is also a library object's, which
    Kustomize refuses while both are in the build (the library's local-config ConfigMaps go
    only at the very end)."""
    return yamlio.dump({"apiVersion": "builtin", "kind": "PatchTransformer",
                        "metadata": {"name": patch.name}, "path": patch.path,
                        "target": {"kind": patch.kind, "name": patch.target}}).rstrip("\n")


def namespace_transformer(namespace: str) -> str:
    """An inline NamespaceTransformer that puts ``namespace`` on every object that has none."""
    return yamlio.dump({"apiVersion": "builtin", "kind": "NamespaceTransformer",
                        "metadata": {"name": "release-namespace", "namespace": namespace},
                        "unsetOnly": True}).rstrip("\n")


def write(overlay: Overlay, directory: Path) -> None:
    """Write the overlay's files into ``directory``, replacing earlier generated files: a file of
    the same text is left as it is, generated files the overlay no longer has are removed (the fit
    writes an overlay several times over; creating files is what costs)."""
    files = {patch.path: "".join(f"# {printable(line)}\n" for line in patch.comment) + yamlio.dump(patch.body())
             for patch in overlay.patches}
    if overlay.objects:
        files[OBJECTS_FILE] = yamlio.dump_all(overlay.objects)
    header = "".join(f"# {printable(line)}\n" if line else "#\n" for line in overlay.header)
    files["kustomization.yaml"] = header + yamlio.dump(overlay.kustomization())
    patch_dir = directory / PATCH_DIR
    if not overlay.patches:
        if patch_dir.exists():
            shutil.rmtree(patch_dir)
    elif patch_dir.is_dir() and not patch_dir.is_symlink():
        for entry in os.scandir(patch_dir):
            if f"{PATCH_DIR}/{entry.name}" not in files:
                (shutil.rmtree if entry.is_dir(follow_symlinks=False) else os.unlink)(entry.path)
    else:
        if patch_dir.exists() or patch_dir.is_symlink():
            patch_dir.unlink()
        patch_dir.mkdir(parents=True)
    if OBJECTS_FILE not in files:
        with contextlib.suppress(FileNotFoundError):
            (directory / OBJECTS_FILE).unlink()
    for name, text in files.items():
        path = directory / name
        with contextlib.suppress(OSError, UnicodeDecodeError):
            if path.is_file() and not path.is_symlink() and path.read_text(encoding="utf-8") == text:
                continue
        path.write_text(text, encoding="utf-8")


_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``, ``\\x1b``), so that
    a key or file name from the values cannot end a comment line or drive a terminal."""
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text)


def staging_dir(output: Path) -> Path:
    """A fresh directory beside ``output`` (same filesystem, same relative paths), with the mode
    of the directory it will replace, else the umask's. Parents that ``output`` needs are
    created; :func:`discard` removes them again."""
    target = _absolute(output)
    parent = target.resolve().parent
    created = missing_ancestor(target)
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = fresh_dir(parent, f".{target.name}.", ".tmp")
        if target.is_dir():
            shutil.copymode(target, staging)
        return staging
    except OSError as exc:
        _remove_created(parent, created)
        raise InputError(f"cannot create the output directory: {exc.strerror}", file=str(output)) from None


def missing_ancestor(output: Path) -> Path | None:
    """The highest parent of ``output`` that does not exist yet (the first one we would create)."""
    missing = None
    for parent in _absolute(output).parents:
        if parent.exists():
            break
        missing = parent
    return missing


def discard(staging: Path, created: Path | None) -> None:
    """Remove the staging directory and the parents created for it (only while they are empty)."""
    shutil.rmtree(staging, ignore_errors=True)
    _remove_created(staging.parent, created)


def _remove_created(directory: Path, created: Path | None) -> None:
    if created is None:
        return
    while True:
        try:
            directory.rmdir()
        except OSError:
            return
        if directory == created or directory == directory.parent:
            return
        directory = directory.parent


def fresh_dir(parent: Path, prefix: str, suffix: str) -> Path:
    """A new empty directory with a random name (``mkdir`` honours the umask; mkdtemp gives 0700)."""
    for _ in range(100):
        path = parent / f"{prefix}{os.urandom(4).hex()}{suffix}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(errno.EEXIST, "no free name for a staging directory", str(parent))


def _absolute(path: Path) -> Path:
    """``path`` made absolute with ``.`` and ``..`` resolved, symbolic links left alone."""
    return Path(os.path.abspath(path))


def check_output(output: Path, force: bool) -> None:
    """Refuse an output path that is not a directory we may replace."""
    if not _absolute(output).name:
        raise InputError("is the root directory; give a directory to write the overlay to", file=str(output))
    if output.is_symlink():
        raise InputError("is a symbolic link; give a real directory", file=str(output))
    if output.exists() and not output.is_dir():
        raise InputError("exists and is not a directory", file=str(output))
    if output.is_dir() and any(output.iterdir()) and not force:
        raise InputError("exists and is not empty; use --force to replace it", file=str(output))
    for parent in output.absolute().parents:
        if parent.exists() and not parent.is_dir():
            raise InputError(f"{parent} is not a directory", file=str(output))
    parent = output.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not os.access(parent, os.W_OK):
        raise InputError("is not writable", file=str(output))


def commit(staging: Path, output: Path, force: bool = False) -> None:
    """Move ``staging`` into place as ``output``.

    Without ``force`` the move never replaces anything: ``output`` must still be absent, or
    the empty directory it was when the run started. When another run has put an overlay
    there in the meantime, that run wins and this one raises InputError (exit 2). With
    ``force`` what is there is exchanged for the new overlay in one step, so that ``output``
    is never missing and concurrent runs end with one complete overlay.
    """
    output = _absolute(output)
    if force:
        _replace(staging, output)
    else:
        _place_new(staging, output)


def _taken(output: Path) -> InputError:
    return InputError("was created by another run while this one ran; nothing was changed (use --force "
                      "to replace it)", file=str(output))


def _place_new(staging: Path, output: Path) -> None:
    mode = None
    try:
        mode = output.lstat().st_mode
        os.rmdir(output)  # the empty directory the run started with (rmdir refuses any other)
    except FileNotFoundError:
        pass
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOTDIR):
            raise _taken(output) from None
        raise
    try:
        rename_noreplace(staging, output)
    except FileExistsError:
        raise _taken(output) from None
    except OSError:
        if mode is not None:  # put the user's empty directory back
            try:
                os.mkdir(output)
                os.chmod(output, stat.S_IMODE(mode))
            except OSError:
                pass
        raise


def _replace(staging: Path, output: Path) -> None:
    for _ in range(10):  # another --force run may take DIR away between two of these steps
        try:
            rename_noreplace(staging, output)
            return
        except FileExistsError:
            pass
        try:
            exchanged = rename_exchange(staging, output)
        except FileNotFoundError:
            continue
        if exchanged:
            shutil.rmtree(staging, ignore_errors=True)  # now the replaced overlay
            return
        with _parent_locked(output):  # no atomic exchange here: a backup, as runs of this tool agree
            backup = staging.with_suffix(".old")  # as unique as the staging name; never someone else's
            if not os.path.lexists(output):
                continue
            os.rename(output, backup)
            try:
                os.rename(staging, output)
            except OSError:
                os.rename(backup, output)
                raise
        shutil.rmtree(backup, ignore_errors=True)
        return
    raise _taken(output)


# --- moves that cannot replace (Linux renameat2, macOS renamex_np, else a lock on the parent) -----

_AT_FDCWD = -100
_NOREPLACE, _EXCHANGE = "noreplace", "exchange"
_FLAGS = {"renameat2": {_NOREPLACE: 1, _EXCHANGE: 2}, "renamex_np": {_NOREPLACE: 4, _EXCHANGE: 2}}
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, getattr(errno, "ENOTSUP", errno.EINVAL),
                getattr(errno, "EOPNOTSUPP", errno.EINVAL)}


@functools.cache
def _libc_rename() -> tuple[str, Any] | None:
    """The C library's rename with flags (looked up when first needed: ctypes loads slowly)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None
    for name in ("renameat2", "renamex_np"):
        function = getattr(libc, name, None)
        if function is not None:
            return name, function
    return None


def _rename(source: Path, target: Path, how: str) -> bool:
    """Rename with ``how`` (noreplace or exchange); False when this system cannot."""
    found = _libc_rename()
    if found is None:
        return False
    import ctypes

    name, function = found
    flags = _FLAGS[name][how]
    src, dst = os.fsencode(source), os.fsencode(target)
    result = function(_AT_FDCWD, src, _AT_FDCWD, dst, flags) if name == "renameat2" else function(src, dst, flags)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), str(source), None, str(target))


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; FileExistsError when ``target`` exists."""
    if _rename(source, target, _NOREPLACE):
        return
    with _parent_locked(target):
        if os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target))
        os.rename(source, target)


def rename_exchange(source: Path, target: Path) -> bool:
    """Swap ``source`` and ``target`` in one step; False when this system cannot."""
    return _rename(source, target, _EXCHANGE)


class _parent_locked:
    """An exclusive flock on the directory holding ``path``, held by runs of this tool while
    they check and move (where the system has no atomic move that cannot replace)."""

    def __init__(self, path: Path) -> None:
        self._parent = Path(path).parent
        self._fd: int | None = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not on POSIX: no lock
            return
        self._fd = os.open(self._parent, os.O_RDONLY)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # releases the lock
            self._fd = None
