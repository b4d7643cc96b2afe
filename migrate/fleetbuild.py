"""Render many overlays in few Kustomize processes, each overlay's objects as its own build gives them.

A good part of a small overlay's Kustomize build is Kustomize's start-up (about 30 ms
of a 55 ms build here; the first strategic-merge patch, such as a delete, adds about
70 ms for reading its built-in OpenAPI data). :func:`build_all`
renders a list of overlays through a generated kustomization in a temporary
directory (never in the user's tree): one wrapper per overlay lists the overlay as
its only resource and marks its objects with an annotation of this run (a random
key), and the top kustomization lists the wrappers. The output is split back by the
annotation, which is removed again.

Kustomize finishes a build at the top (hash suffixes, name references, local-config
objects), so overlays built together can see each other. Overlays are therefore put
in one build only when they cannot:

* their objects have distinct ids: overlays with the same ``namePrefix``/``nameSuffix``,
  or without either in the same namespace (the library's local-config ``model-config``
  ConfigMap stays in the build until its end), or naming the same objects (a hint the
  caller may give), go to separate groups;
* they make the same build-wide settings (``configurations``, ``crds``, ``openapi``
  anywhere in their tree); an overlay with ``vars``, ``buildMetadata``, ``sortOptions``, a remote
  resource or a kustomization that cannot be read is built alone.

After a combined build, an overlay whose objects share a name with another overlay's,
or whose output holds another overlay's object name that its own files do not (a
reference Kustomize may have pointed across), is built again apart, so no result
depends on its neighbours.
A group whose build fails is split in halves until each failing overlay is built
alone: its error is exactly the error of its own build. At most :data:`MAX_GROUP`
overlays go into one build, as Kustomize's work per overlay grows with the size of
the build. Every result is what
:func:`migrate.tools.kustomize_build` of that overlay returns or raises, with one
difference: an explicitly empty ``metadata.annotations: {}`` comes back absent.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from migrate import yamlio
from migrate.errors import MigrateError, ToolError
from migrate.tools import ROOT_ONLY_FIELDS, in_order

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_GROUP = 40  # overlays in one Kustomize process: its work per overlay grows with the build (42 ms at 50, 106 ms at 400)
# Fields whose effect reaches past the kustomization that sets them.
_SHARED_FIELDS = ("configurations", "crds", "openapi")
_ALONE_FIELDS = ("vars", *ROOT_ONLY_FIELDS)
_ANNOTATION_DOMAIN = "fleet.helm-to-kustomize.io"
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DOCUMENT_SEPARATOR = re.compile(r"^---\n", re.MULTILINE)
_BUILD_ANNOTATIONS = ("config.kubernetes.io/origin", "alpha.config.kubernetes.io/transformations")

Build = Callable[[Path, "str | None"], str]


@dataclass(frozen=True)
class Shape:
    """What decides which overlays may share a build: ids they would claim, the build-wide
    settings of their tree; ``alone`` when nothing about it can be relied on."""

    keys: frozenset = frozenset()
    settings: str = ""
    alone: bool = False


def build_all(directories: Sequence[Path], kustomize: str | None = None, *,
              names: Sequence[Iterable[str]] | None = None, parallel: int = 1,
              max_group: int = MAX_GROUP, single: Build | None = None) -> list[str | MigrateError]:
    """Render every overlay; for each, its output text or the error its own build raises.

    ``names`` (optional, per overlay) are the object names it is expected to render; they keep
    overlays that would collide apart before anything is built. ``parallel`` Kustomize
    processes run at once. ``single`` builds one overlay alone (default: tools.kustomize_build).
    """
    from migrate import tools

    single = single or tools.kustomize_build
    directories = [Path(d) for d in directories]
    results: list[str | MigrateError | None] = [None] * len(directories)
    shapes = _Shapes()
    members = [_Member(i, d, shapes.of(d), frozenset(names[i]) if names else frozenset())
               for i, d in enumerate(directories)]
    with ThreadPoolExecutor(max(1, parallel), thread_name_prefix="fleetbuild") as pool:
        _Run(kustomize, single, pool, max_group, results, shapes).all(members)
    return results  # type: ignore[return-value]


# --- grouping ---------------------------------------------------------------------------------


@dataclass
class _Member:
    index: int
    directory: Path
    shape: Shape
    names: frozenset = frozenset()  # hinted or learned object names
    apart: bool = False  # to be built alone

    @property
    def keys(self) -> frozenset:
        return self.shape.keys | {("name", n) for n in self.names}


def groups_of(members: list[_Member], max_group: int) -> list[list[_Member]]:
    """Members in groups whose keys are disjoint and whose settings agree; greedy, in order."""
    groups: list[tuple[list[_Member], set, str]] = []
    alone: list[list[_Member]] = []
    for member in members:
        if member.apart or member.shape.alone:
            alone.append([member])
            continue
        keys = member.keys
        for group, taken, settings in groups:
            if settings == member.shape.settings and len(group) < max_group and taken.isdisjoint(keys):
                group.append(member)
                taken.update(keys)
                break
        else:
            groups.append(([member], set(keys), member.shape.settings))
    return [group for group, _, _ in groups] + alone


class _Shapes:
    """The shape of each overlay, from its kustomization and those it reaches (each read once),
    and the words of the files in its tree."""

    def __init__(self) -> None:
        self._trees: dict[Path, tuple[frozenset, bool, tuple[Path, ...]]] = {}
        self._words: dict[Path, frozenset] = {}

    def of(self, directory: Path) -> Shape:
        doc = _kustomization(directory)
        if doc is None:
            return Shape(alone=True)
        settings, alone, _ = self._tree(directory, doc)
        if alone:
            return Shape(alone=True)
        prefix, suffix, namespace = (doc.get(k) for k in ("namePrefix", "nameSuffix", "namespace"))
        if not all(v is None or isinstance(v, str) for v in (prefix, suffix, namespace)):
            return Shape(alone=True)
        if prefix or suffix:  # the same affixes on the same library give the same names
            keys = frozenset({("affix", prefix or "", suffix or "")})
        else:  # local-config objects keep the library's names until the end of the build
            keys = frozenset({("bare", namespace or "")})
        return Shape(keys, "\0".join(sorted(settings)))

    def words(self, directory: Path) -> frozenset:
        """Every word (a run of name characters) in the files of ``directory``'s tree: what the
        overlay itself can print without help from its neighbours."""
        real = directory.resolve()
        if real not in self._words:
            self._words[real] = frozenset()  # a cycle
            found: set[str] = set()
            for path in real.rglob("*"):
                try:
                    if path.is_file():
                        found.update(_TOKEN.findall(path.read_text(encoding="utf-8", errors="replace")))
                except OSError:
                    continue
            doc = _kustomization(real)
            for child in self._tree(real, doc)[2] if doc is not None else ():
                found |= self.words(child)
            self._words[real] = frozenset(found)
        return self._words[real]

    def _tree(self, directory: Path, doc: dict) -> tuple[frozenset, bool, tuple[Path, ...]]:
        """The build-wide settings under ``directory``, whether it must be built alone, and the
        kustomization directories it lists."""
        real = directory.resolve()
        if real in self._trees:
            return self._trees[real]
        self._trees[real] = (frozenset(), True, ())  # a cycle: Kustomize refuses it; alone
        settings: set[str] = set()
        children: list[Path] = []
        alone = any(doc.get(f) for f in _ALONE_FIELDS)
        for name in _SHARED_FIELDS:
            value = doc.get(name)
            if value:
                settings.add(f"{real}:{name}:{_setting_text(directory, value)}")
        for entry in _listed(doc, "resources", "bases", "components"):
            if alone:
                break
            if not isinstance(entry, str) or "://" in entry or entry.startswith(("git@", "github.com/")):
                alone = True
                break
            child = directory / entry
            if child.is_dir():
                known = self._trees.get(child.resolve())
                child_doc = {} if known is not None else _kustomization(child)  # each read once
                if child_doc is None:
                    alone = True
                    break
                children.append(child)
                child_settings, child_alone, _ = known or self._tree(child, child_doc)
                settings |= child_settings
                alone = alone or child_alone
        self._trees[real] = (frozenset(settings), alone, tuple(children))
        return self._trees[real]


def _listed(doc: dict, *fields: str) -> list[Any]:
    out: list[Any] = []
    for name in fields:
        value = doc.get(name)
        if isinstance(value, list):
            out += value
        elif value is not None:
            out.append(None)  # not a list: Kustomize refuses it; built alone
    return out


def _setting_text(directory: Path, value: Any) -> str:
    """A setting's content: the files it names (as far as they can be read), else its value."""
    parts = []
    for entry in value if isinstance(value, list) else [value]:
        text = repr(entry)
        if isinstance(entry, str):
            try:
                text = (directory / entry).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError, ValueError):
                pass
        parts.append(text)
    return "\0".join(parts)


def _kustomization(directory: Path) -> dict | None:
    """The parsed kustomization of ``directory``; None when there is none or it cannot be read."""
    import yaml

    for name in KUSTOMIZATION_FILES:
        path = directory / name
        if path.is_file():
            try:
                doc = yamlio.load_data(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
                return None
            return doc if isinstance(doc, dict) else None
    return None


# --- building -----------------------------------------------------------------------------------


class _Run:
    def __init__(self, kustomize: str | None, single: Build, pool: ThreadPoolExecutor, max_group: int,
                 results: list, shapes: _Shapes) -> None:
        self.kustomize = kustomize
        self.shapes = shapes
        self.single = single
        self.pool = pool
        self.max_group = max_group
        self.results = results

    def all(self, members: list[_Member]) -> None:
        """Build ``members`` in groups, in parallel; whoever must be built again goes round again."""
        while members:
            groups = groups_of(members, self.max_group)
            # waited for in steps: on the main thread (the hook) a signal is still handled
            redone = in_order([self.pool.submit(self.group, group) for group in groups])
            members = [member for redo in redone for member in redo]

    def group(self, group: list[_Member]) -> list[_Member]:
        """Build one group; returns the members to build again (apart, or with learned names)."""
        if len(group) == 1:
            member = group[0]
            self.results[member.index] = self._alone(member)
            return []
        from migrate.tools import CommandStopped

        try:
            texts = self._combined(group)
            named = [set(object_names(text)) for text in texts]
        except (_Unsplittable, CommandStopped, OSError):
            # output not told apart, a build stopped (time limit, interrupt) or the temporary
            # directory not written: each on its own, with its own outcome
            for member in group:
                member.apart = True
            return group
        except ToolError:  # a member Kustomize refuses (or a clash): halves, until it is alone
            middle = len(group) // 2
            return [m for half in self.pool_map_halves(group[:middle], group[middle:]) for m in half]
        return self._accepted(group, texts, named)

    def pool_map_halves(self, *halves: list[_Member]) -> list[list[_Member]]:
        # The halves are built here, on this thread: the pool's threads may all be busy with groups.
        return [self.group(half) for half in halves]

    def _alone(self, member: _Member) -> str | MigrateError:
        try:
            return self.single(member.directory, self.kustomize)
        except MigrateError as exc:
            return exc

    def _combined(self, group: list[_Member]) -> list[str]:
        mark = f"h2k-{secrets.token_hex(6)}.{_ANNOTATION_DOMAIN}/overlay"
        root = Path(tempfile.mkdtemp(prefix="h2k-fleet-")).resolve()
        try:
            for number, member in enumerate(group):
                wrapper = root / f"o{number}"
                wrapper.mkdir()
                (wrapper / "kustomization.yaml").write_text(
                    _wrapper(os.path.relpath(os.path.abspath(member.directory), wrapper), mark, number),
                    encoding="utf-8")
            (root / "kustomization.yaml").write_text(
                "resources:\n" + "".join(f"- o{n}\n" for n in range(len(group))), encoding="utf-8")
            from migrate import tools

            text = tools.kustomize_build(root, self.kustomize)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return split(text, mark, len(group))

    def _accepted(self, group: list[_Member], texts: list[str], named: list[set[str]]) -> list[_Member]:
        """Keep each member's result unless a neighbour may have changed it; those go round again."""
        owners: dict[str, set[int]] = {}
        for number, names in enumerate(named):
            for name in names:
                owners.setdefault(name, set()).add(number)
        again: list[_Member] = []
        for number, member in enumerate(group):
            text = texts[number]
            shared = any(len(owners[name]) > 1 for name in named[number])
            if shared:  # objects of one name in two overlays: apart next time
                member.names = member.names | named[number]
                again.append(member)
                continue
            foreign = {t for t in _TOKEN.findall(text) if t in owners and t not in named[number]}
            if foreign:  # a neighbour's object name, unless the overlay's own files have the word
                foreign -= self.shapes.words(member.directory)
            if foreign or any(a in text for a in _BUILD_ANNOTATIONS):
                member.apart = True
                again.append(member)
                continue
            self.results[member.index] = text
        return again


class _Unsplittable(Exception):
    """The combined output cannot be told apart by overlay."""


def _wrapper(overlay: str, mark: str, number: int) -> str:
    return ("resources:\n"
            f"- {_quoted(overlay)}\n"
            "transformers:\n"
            "- |-\n"
            "  apiVersion: builtin\n"
            "  kind: AnnotationsTransformer\n"
            "  metadata:\n"
            "    name: h2k-fleet-member\n"
            "  annotations:\n"
            f"    {mark}: m{number}\n"
            "  fieldSpecs:\n"
            "  - path: metadata/annotations\n"
            "    create: true\n")


def _quoted(text: str) -> str:
    import json

    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


def split(text: str, mark: str, count: int) -> list[str]:
    """The combined output as ``count`` texts, one per overlay, the annotation ``mark`` removed."""
    line = re.compile(rf"^    {re.escape(mark)}: m(\d+)\n", re.MULTILINE)
    parts: list[list[str]] = [[] for _ in range(count)]
    for document in _DOCUMENT_SEPARATOR.split(text):
        if not document.strip():
            continue
        found = line.findall(document)
        if len(found) != 1 or int(found[0]) >= count or document.count(mark) != 1:
            raise _Unsplittable
        match = line.search(document)
        assert match is not None
        before, after = document[: match.start()], document[match.end():]
        if before.endswith("  annotations:\n") and not after.startswith("    "):
            before = before[: -len("  annotations:\n")]  # the transformer made the map: gone again
        parts[int(found[0])].append(before + after)
    return ["---\n".join(docs) for docs in parts]


_METADATA_NAME = re.compile(r"^metadata:\n(?:(?:  .*)?\n)*?  name: (.+)$", re.MULTILINE)


def object_names(text: str) -> list[str]:
    """``metadata.name`` of each object in Kustomize's output (top-level block keys, as it prints them)."""
    names = []
    for document in _DOCUMENT_SEPARATOR.split(text):
        match = _METADATA_NAME.search(document)
        if match is None:
            if document.strip():
                raise _Unsplittable
            continue
        names.append(match.group(1).strip().strip("'\""))
    return names


# --- many callers, one build ------------------------------------------------------------------------


class Batcher:
    """Renders for threads that each run one migration, combined into as few builds as possible.

    Each thread calls :meth:`enter` before its migration and :meth:`leave` after it, and renders
    through :meth:`build`. A build starts once every migration that runs is waiting for a render
    (or one has waited ``max_wait`` seconds): then all waiting overlays are built together by
    :func:`build_all`. Directories of identical content side by side are built once.
    """

    def __init__(self, kustomize: str | None = None, *, max_wait: float = 5.0, parallel: int = 1,
                 max_group: int = MAX_GROUP, memory: int = 256) -> None:
        self.kustomize = kustomize
        self.memory = memory  # renders kept for directories of the same content
        self.max_wait = max_wait
        self.parallel = parallel
        self.max_group = max_group
        self._lock = threading.Condition()
        self._active = 0
        self._waiting = 0
        self._pending: list[_Request] = []
        self._inflight: dict[tuple, _Request] = {}
        self._rendered: dict[tuple, str] = {}  # content -> render, for the batcher's life (one chunk)

    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            self._fire_if_idle()

    def build(self, directory: Path, kustomize: str | None = None) -> str:
        """``kustomize_build(directory)``, rendered together with the other waiting overlays. A
        directory of the same content beside one rendered before (or being rendered) takes its
        render: the library part of two releases on the same building blocks is rendered once."""
        kustomize = kustomize if kustomize is not None else self.kustomize
        key = (kustomize, _content_key(Path(directory)))
        with self._lock:
            known = self._rendered.get(key)
            if known is not None:
                return known
            same = self._inflight.get(key)
            if same is not None:  # rendered for another migration right now: wait for it
                self._waiting += 1
                try:
                    self._fire_if_idle()
                    while not same.done.is_set():
                        self._lock.wait(1.0)
                finally:
                    self._waiting -= 1
                if isinstance(same.result, str):
                    return same.result
            request = _Request(Path(directory), kustomize, key)
            self._inflight[key] = request
            self._pending.append(request)
            self._waiting += 1
            self._fire_if_idle()
            deadline = time.monotonic() + self.max_wait
            while not request.done.is_set():
                left = deadline - time.monotonic()
                if left <= 0 and request in self._pending:
                    self._fire()  # a migration busy for long: do not hold the others back
                self._lock.wait(max(left, 0.05))
        if isinstance(request.result, BaseException):
            raise request.result
        return request.result  # type: ignore[return-value]

    def _fire_if_idle(self) -> None:
        if self._pending and self._waiting >= self._active:
            self._fire()

    def _fire(self) -> None:
        batch, self._pending = self._pending, []
        threading.Thread(target=self._render, args=(batch,), daemon=True).start()

    def _render(self, batch: list[_Request]) -> None:
        results: dict[int, Any] = {}
        try:
            by_tool: dict[str | None, list[_Request]] = {}
            for request in batch:
                by_tool.setdefault(request.kustomize, []).append(request)
            for kustomize, requests in by_tool.items():
                built = build_all([r.directory for r in requests], kustomize, parallel=self.parallel,
                                  max_group=self.max_group)
                for request, result in zip(requests, built):
                    results[id(request)] = result
        except BaseException as exc:  # noqa: BLE001 - handed to every waiting migration
            for request in batch:
                results.setdefault(id(request), exc)
        with self._lock:
            for request in batch:
                request.result = results[id(request)]
                if isinstance(request.result, str):
                    self._rendered[request.key] = request.result
                    while len(self._rendered) > self.memory:  # the oldest first
                        del self._rendered[next(iter(self._rendered))]
                if self._inflight.get(request.key) is request:
                    del self._inflight[request.key]
                request.done.set()
                self._waiting -= 1
            self._lock.notify_all()
            self._fire_if_idle()


@dataclass(eq=False)
class _Request:
    directory: Path
    kustomize: str | None
    key: tuple = ()
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None


def _content_key(directory: Path) -> str:
    """The directory's place and every file in it, the kustomization without the comment lines it
    starts with (a generated one's header names its release; other files are taken whole, as a
    generator may read them as data): two such directories render alike."""
    sha = hashlib.sha256(str(directory.absolute().parent).encode("utf-8") + b"\0")
    try:
        for path in sorted(p for p in directory.rglob("*")):
            sha.update(str(path.relative_to(directory)).encode("utf-8") + b"\0")
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                sha.update(f"not a plain file: {secrets.token_hex(8)}".encode())  # never shared
            elif path.is_file():
                data = path.read_bytes()
                if path.parent == directory and path.name in KUSTOMIZATION_FILES:
                    data = _LEADING_COMMENTS.sub(b"", data)
                sha.update(data + b"\0")
    except OSError:
        return f"unreadable {secrets.token_hex(8)}"
    return sha.hexdigest()


_LEADING_COMMENTS = re.compile(rb"\A(?:[ \t]*(?:#[^\n]*)?\n)*")
