"""Fit an overlay to the objects Helm renders.

The plan picks the library's accelerator, components and literals. Kustomize
renders that; each rendered object is paired with the object Helm renders
for the same role, and the difference becomes JSON 6902 patches grouped as
the mapping table says. Library objects Helm would not render are deleted;
objects the library has no place for (``extraObjects``) go to objects.yaml.
The result is rendered again and any remaining difference is patched, so the
overlay is checked against the expected objects before it is ever written out.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonpatch

from migrate import guards, images, yamlio
from migrate import overlay as ov
from migrate.cache import digest
from migrate.mapping import Table
from migrate.markers import NAMESPACE_TOKEN, PREFIX_TOKEN, Markers, context_tokens, substitute_context
from migrate.tools import CommandFailed
from migrate.patchgen import diff, same, strip_nulls

if TYPE_CHECKING:
    from migrate.cache import RenderCache

LIBRARY_STEM = "modelservice"
STAND_IN = "h2k-extra-"  # + index + name: an extra object's name until the last transformer
LOCAL_NAMESPACE = "h2k-local-config"  # where a library local-config object steps aside (never output)
LAST_COMPONENT = "model-config"
PROVENANCE = ("helm.sh/chart", "app.kubernetes.io/managed-by", "app.kubernetes.io/version")
MAX_ROUNDS = 3

Key = tuple[str, str]
Build = Callable[[Path], str]


@dataclasses.dataclass(frozen=True)
class Fit:
    """What the fit made: the overlay as written (name prefix, the literals kept, components
    after any the library refused, patches with their role, objects, images), the warnings of
    the fit, its last render (text and objects), and the objects that render still gets wrong."""

    overlay: ov.Overlay
    rendered: str
    residual: list[str]
    warnings: list[str]
    objects: list[dict]  # of the last render, as parsed (read-only)

    @property
    def literals(self) -> dict[str, str]:
        return self.overlay.literals

    @property
    def components(self) -> list[str]:
        return self.overlay.components

    @property
    def patches(self) -> list[ov.PatchFile]:
        return self.overlay.patches


def fit(staging: Path, overlay: ov.Overlay, targets: list[dict], fullname: str,
        table: Table, build: Build, cache: RenderCache | None = None,
        generated: Callable[[], frozenset[Key]] = frozenset, extra: frozenset[Key] = frozenset(),
        namespace: str = "default") -> Fit:
    """Add patches and objects to ``overlay`` until it renders ``targets`` (Helm renders into
    ``namespace``); the overlay starts as the plan made it.

    The library part is rendered once, with every literal replaced by markers (from ``cache``
    when it holds that render): the markers show where each literal lands, so a literal that
    the patches overwrite everywhere is left out without another render. Then the overlay is
    rendered for real and any remaining difference is patched. "Renders" means what ``verify``
    means: objects equal under the normalisation of :mod:`migrate.compare`.
    """
    warnings: list[str] = []
    markers = Markers(overlay.literals)
    pairs, unused, unplaced, marked = _first_render(staging, overlay, targets, fullname, build, cache, markers,
                                                    extra, warnings)
    reserved = {(_key(obj)[0], _unprefixed(_key(obj)[1], overlay)) for obj in marked}
    overlay.objects, stand_ins, addressed = _placed([_clean(t) for t in unplaced], reserved,
                                                    generated() if unplaced else frozenset())
    overlay.patches = _unique([_deletion(obj, overlay) for obj in unused] + _patches(pairs, table, overlay) + stand_ins)
    # the name a patch reaches each Helm object by: its library object's, or its stand-in
    addressed.update({_key(t): _unprefixed(_key(lib)[1], overlay) for lib, t in pairs})
    live = markers.live(_patched(marked, overlay))
    overlay.literals = {name: value for name, value in overlay.literals.items() if name in live}
    ov.write(overlay, staging)
    try:
        rendered = build(staging)
    except CommandFailed as failure:
        if not _without_tests(overlay):
            raise
        # a test naming an item does not hold where Kustomize applies it: the edits stay, untested
        warnings.append(f"Kustomize refused a patch's test of the item it edits ({failure.stderr.strip()[:160]}); "
                        "the patches edit list items by index without naming them")
        ov.write(overlay, staging)
        rendered = build(staging)

    def judged(text: str) -> tuple[list[dict], dict[Key, tuple[Any, Any]]]:
        objects = _objects(text)
        return objects, _residual(objects, targets, namespace)

    objects, residual = judged(rendered)  # always those of `rendered`
    for _ in range(MAX_ROUNDS):
        before = list(overlay.patches)
        if not residual or not _fix(overlay, residual, addressed):
            break
        ov.write(overlay, staging)
        try:
            rendered = build(staging)
        except CommandFailed:  # Kustomize cannot apply these fixes: keep the last overlay that builds
            overlay.patches = before
            ov.write(overlay, staging)
            rendered = build(staging)
            objects, residual = judged(rendered)
            break
        objects, residual = judged(rendered)
    return Fit(overlay, rendered, sorted(f"{kind}/{name}" for kind, name in residual), warnings, objects)


def _patched(marked: list[dict], overlay: ov.Overlay) -> list[dict]:
    """The marked library objects after the overlay's patches, as far as they apply here;
    an object a patch cannot be applied to is kept whole (its literals count as live)."""
    objects = {(_key(obj)[0], _unprefixed(_key(obj)[1], overlay)): _comparable(obj) for obj in marked}
    failed: set[Key] = set()
    for patch in overlay.patches:
        key = (patch.kind, patch.target)
        if key not in objects or key in failed:
            continue
        if patch.delete is not None:
            del objects[key]
            continue
        try:  # the tests name library values, not the markers this render has
            objects[key] = jsonpatch.apply_patch(objects[key], [op for op in patch.ops if op.get("op") != "test"])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            failed.add(key)
    return list(objects.values())


def _first_render(staging: Path, overlay: ov.Overlay, targets: list[dict], fullname: str, build: Build,
                  cache: RenderCache | None, markers: Markers, extra: frozenset[Key], warnings: list[str]
                  ) -> tuple[list[tuple[dict, dict]], list[dict], list[dict], list[dict]]:
    """Render the library part; use a namePrefix when it alone gives every object Helm's name.

    Returns the pairs, the unused library objects and the unplaced Helm objects (all with the
    literals' values), and the library objects as rendered (with the markers).
    """
    if _prefix_may_do(targets, fullname):
        overlay.name_prefix = fullname[: -len(LIBRARY_STEM)]
        marked = _render_library(staging, overlay, build, cache, markers, warnings)
        pairs, unused, unplaced = pair(markers.restore(marked), targets, fullname, fullname, extra)
        if not unplaced and all(_key(lib) == _key(t) for lib, t in pairs):
            return pairs, unused, unplaced, marked
    overlay.name_prefix = None
    marked = _render_library(staging, overlay, build, cache, markers, warnings)
    return (*pair(markers.restore(marked), targets, fullname, LIBRARY_STEM, extra), marked)


def _render_library(staging: Path, overlay: ov.Overlay, build: Build, cache: RenderCache | None,
                    markers: Markers, warnings: list[str]) -> list[dict]:
    """Render the overlay so far, with the markers for literals. The namePrefix and namespace
    are rendered as tokens too and put back here, so that one cached render serves every
    release on the same building blocks. Should the library refuse this combination, fall back
    in steps (literals, then optional components) and let patches carry the values instead."""
    fallbacks = [
        ("literals", lambda: bool(overlay.literals), lambda: setattr(overlay, "literals", {})),
        ("components", lambda: overlay.components != [LAST_COMPONENT],
         lambda: setattr(overlay, "components", [LAST_COMPONENT])),
    ]
    while True:
        marked = dataclasses.replace(
            overlay, name_prefix=PREFIX_TOKEN if overlay.name_prefix else None,
            literals={name: markers.marked[name] for name in overlay.literals},
            namespace=NAMESPACE_TOKEN if overlay.namespace else None)
        # tokens named after the building blocks: a fleet's renders of different blocks do not
        # clash, and are made in one Kustomize build
        tag = digest(marked.kustomization())[:10]
        prefix, namespace = context_tokens(tag)
        marked.name_prefix = prefix if overlay.name_prefix else None
        marked.namespace = namespace if overlay.namespace else None
        context = {prefix: overlay.name_prefix or "", namespace: overlay.namespace or ""}
        try:
            text = _cached_build(staging, marked, build, cache)
        except CommandFailed as marked_failure:
            # Kustomize's message quotes the stand-ins: show the values they stand for
            failure = CommandFailed(marked_failure.cmd, marked_failure.returncode, marked_failure.stdout,
                                    substitute_context(markers.restore(marked_failure.stderr), context))
            step = next((f for f in fallbacks if f[1]()), None)
            if step is None:
                raise failure from None
            fallbacks.remove(step)
            what = ", ".join(overlay.literals) if step[0] == "literals" else ", ".join(overlay.components)
            warnings.append(f"the library refused the {step[0]} ({what}): {failure.stderr.strip()[:200]}; "
                            "patches carry these values instead")
            step[2]()
            continue
        return substitute_context(_objects(text), context)


def _cached_build(staging: Path, overlay: ov.Overlay, build: Build, cache: RenderCache | None) -> str:
    """Render the overlay so far (no patches or objects yet), or take the render from ``cache``."""
    key = cache.key(overlay.kustomization()) if cache is not None else None
    if key is not None:
        text = cache.get(key)
        if text is not None:
            return text
    ov.write(overlay, staging)
    text = build(staging)
    if key is not None:
        cache.put(key, text)
    return text


def _prefix_may_do(targets: list[dict], fullname: str) -> bool:
    """A namePrefix can name everything only if Helm's names all extend ``<prefix>modelservice``."""
    if not fullname.endswith(LIBRARY_STEM) or fullname == LIBRARY_STEM:
        return False
    return all(_key(t)[1].startswith(fullname) for t in targets)


# --- pairing library objects with Helm's objects -------------------------------------------


def pair(rendered: list[dict], targets: list[dict], fullname: str, stem: str, extra: frozenset[Key] = frozenset()
         ) -> tuple[list[tuple[dict, dict]], list[dict], list[dict]]:
    """Pair each Helm object with the library object of the same kind and role.

    Helm names objects ``<fullname><suffix>``; the rendered library names them ``<stem><suffix>``.
    """
    free = list(rendered)
    pairs: list[tuple[dict, dict]] = []
    unplaced: list[dict] = []
    for target in targets:
        match = _library_match(target, free, fullname, stem)
        if match is None:
            unplaced.append(target)
        else:
            free.remove(match)
            pairs.append((match, target))
    # A chart object the library names otherwise (v0.3.x's `<type>-resource-claim-template`):
    # the library object of its kind that nothing else took, renamed and patched. The values'
    # own extraObjects are never taken for library objects.
    for target in list(unplaced):
        if _key(target) in extra:
            continue
        match = next((c for c in free if c.get("kind") == target.get("kind")), None)
        if match is not None:
            free.remove(match)
            unplaced.remove(target)
            pairs.append((match, target))
    return pairs, free, unplaced


def _library_match(target: dict, candidates: list[dict], fullname: str, stem: str) -> dict | None:
    kind, name = _key(target)
    same_kind = [c for c in candidates if c.get("kind") == kind]
    if name.startswith(fullname):
        wanted = stem + name[len(fullname):]
        for candidate in same_kind:
            if _key(candidate)[1] == wanted:
                return candidate
    role = _labels(target).get("llm-d.ai/role")
    if kind == "ResourceClaimTemplate" and role:
        for candidate in same_kind:
            if _labels(candidate).get("llm-d.ai/role") == role:
                return candidate
    return None


# --- patches ----------------------------------------------------------------------------------


def _patches(pairs: list[tuple[dict, dict]], table: Table, overlay: ov.Overlay) -> list[ov.PatchFile]:
    content: list[ov.PatchFile] = []
    renames: list[ov.PatchFile] = []
    names = [_unprefixed(_key(lib)[1], overlay) for lib, _ in pairs]
    bare = {subject.get("name") for _, target in pairs if target.get("kind") in ("RoleBinding", "ClusterRoleBinding")
            for subject in target.get("subjects") or []
            if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount" and not subject.get("namespace")}
    computed = []
    for library_obj, target in pairs:
        source = _comparable(library_obj)
        computed.append((source, _subject_names(source, target) + diff(source, _comparable(target))))
    # image changes the overlay's `images:` carries are no patch operations
    overlay.images, dropped = images.plan([(source, target, ops) for (source, ops), (_, target) in
                                           zip(computed, pairs)], overlay.objects)
    for index, ((library_obj, target), (source, ops)) in enumerate(zip(pairs, computed)):
        kind, name = _key(library_obj)
        name = _unprefixed(name, overlay)
        label = _label(name, kind, shared=names.count(name) > 1)
        if overlay.images:
            source = images.apply(overlay.images, source)
            ops = [op for op in ops if (index, op.get("path")) not in dropped]
        content.extend(_grouped(ops, kind, name, source, target, label, table, frozenset(overlay.literals.values())))
        if _key(target)[1] != _key(library_obj)[1]:
            # A ServiceAccount a namespace-less RoleBinding subject names is renamed after the
            # namespace is set, so that Kustomize never sees the subject refer to it by a former id.
            late = kind == "ServiceAccount" and _key(target)[1] in bare
            renames.append(ov.PatchFile(_file_name(f"{label}-name"), kind, name,
                                        [{"op": "replace", "path": "/metadata/name", "value": _key(target)[1]}],
                                        last=late, role="rename"))
    return content + renames


def _without_tests(overlay: ov.Overlay) -> bool:
    """Drop the ``test`` operations of every patch; False when there were none."""
    found = False
    for patch in overlay.patches:
        kept = [op for op in patch.ops if op.get("op") != "test"]
        found = found or len(kept) != len(patch.ops)
        patch.ops = kept
    return found


def _unique(patches: list[ov.PatchFile]) -> list[ov.PatchFile]:
    """Patch files with distinct names (a second ``x`` becomes ``x-2``): each is its own file."""
    seen: set[str] = set()
    for patch in patches:
        name, n = patch.name, 1
        while name in seen:
            n += 1
            name = f"{patch.name}-{n}"
        patch.name = name
        seen.add(name)
    return patches


def _subject_names(source: dict, target: dict) -> list[dict]:
    """Helm's RoleBinding subjects that name a ServiceAccount but no namespace. Kustomize gives
    a subject the namespace of the ServiceAccount it renames (namePrefix, ``namespace:``), so the
    subject is named as Helm names it before Kustomize's transformers run: it then refers to no
    previous name and is left alone. ``source`` loses the namespace Kustomize gave it."""
    if target.get("kind") not in ("RoleBinding", "ClusterRoleBinding"):
        return []
    ops = []
    wanted = target.get("subjects") or []
    for index, subject in enumerate(source.get("subjects") or []):
        helm = wanted[index] if index < len(wanted) and isinstance(wanted[index], dict) else None
        if not isinstance(subject, dict) or helm is None or helm.get("kind") != "ServiceAccount":
            continue
        if "namespace" not in helm:
            subject.pop("namespace", None)
            ops.append({"op": "replace", "path": f"/subjects/{index}/name", "value": helm.get("name")})
    return ops


def _grouped(ops: list[dict], kind: str, name: str, source: dict, target: dict, label: str,
             table: Table, unsure: frozenset[str] = frozenset()) -> list[ov.PatchFile]:
    """One patch per table group; consecutive runs instead when regrouping would reorder list edits."""
    groups: dict[str, list[dict]] = {}
    for op in ops:
        groups.setdefault(table.group_for(op["path"]), []).append(op)
    if not _applies([op for run in groups.values() for op in run], source, target):
        groups = {}
        current = None
        for op in ops:
            group = table.group_for(op["path"])
            if current is None or not current.startswith(group):
                current = group if group not in groups else f"{group}-{len(groups) + 1}"
                groups[current] = []
            groups[current].append(op)
    files = []
    state = _comparable(source)
    made: set[tuple[str, str]] = set()
    for group, run in groups.items():  # Kustomize applies the files in this order
        files.append(ov.PatchFile(_file_name(f"{label}-{group}"), kind, name, guards.guarded(run, state, unsure, made)))
        try:
            state = jsonpatch.apply_patch(state, run)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            state = None
    return files


def _file_name(text: str) -> str:
    """A safe file stem: lowercase letters, digits and dashes only."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "patch"


def _applies(ops: list[dict], source: dict, target: dict) -> bool:
    try:
        result = jsonpatch.apply_patch(_comparable(source), ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
        return False
    return same(_pruned(result), _pruned(_comparable(target)))


def _placed(objects: list[dict], library: set[Key], generated: frozenset[Key]
            ) -> tuple[list[dict], list[ov.PatchFile], dict[Key, str]]:
    """Objects for objects.yaml. One with the kind and name of a library object (Kustomize
    refuses two objects with one id while both are in the build) goes in under a stand-in
    name, and a patch run after every other transformer gives it its name. A library object
    that stays to the end of the build (the generators' local-config ConfigMaps, dropped only
    from the output) first steps aside into another namespace. Also returns the stand-in
    name of each object that has one."""
    placed: list[dict] = []
    renames: list[ov.PatchFile] = []
    stand_ins: dict[Key, str] = {}
    for index, obj in enumerate(objects):
        kind, name = _key(obj)
        if (kind, name) in library or (kind, name) in generated:
            stand_in = stand_ins[(kind, name)] = f"{STAND_IN}{index}-{name}"
            obj = {**obj, "metadata": {**obj["metadata"], "name": stand_in}}
            if (kind, name) in generated:  # moved, not renamed: references to its name must not follow it
                renames.append(ov.PatchFile(_file_name(f"library-{kind}-{name}-local-namespace"), kind, name,
                                            [{"op": "add", "path": "/metadata/namespace",
                                              "value": LOCAL_NAMESPACE}], last=True, role="stand-in"))
            renames.append(ov.PatchFile(_file_name(f"extra-{kind}-{name}-name"), kind, stand_in,
                                        [{"op": "replace", "path": "/metadata/name", "value": name}], last=True,
                                        role="stand-in"))
        placed.append(obj)
    return placed, renames, stand_ins


def _deletion(obj: dict, overlay: ov.Overlay) -> ov.PatchFile:
    kind, name = _key(obj)
    name = _unprefixed(name, overlay)
    identity = {"apiVersion": obj.get("apiVersion"), "kind": kind, "metadata": {"name": name}}
    return ov.PatchFile(_file_name(f"{_label(name, kind) or kind}-delete"), kind, name, delete=identity, role="delete")


def _unprefixed(name: str, overlay: ov.Overlay) -> str:
    """The library name a patch targets (patches run before the overlay's namePrefix)."""
    prefix = overlay.name_prefix or ""
    return name[len(prefix):] if prefix and name.startswith(prefix) else name


def _fix(overlay: ov.Overlay, residual: dict[Key, tuple[dict, dict]], addressed: dict[Key, str]) -> bool:
    """Patch what still differs, before the renames; False when nothing can be patched.
    ``addressed`` gives the name a patch reaches a Helm object by, where it is not its own."""
    fixes: list[ov.PatchFile] = []
    for key, (built, target) in residual.items():
        if built is None or target is None:
            return False
        ops = diff(_comparable(built), _comparable(target))
        if not ops:
            return False
        name = addressed.get(key, key[1])
        present = {_effect(op) for p in overlay.patches if (p.kind, p.target) == (key[0], name) for op in p.ops}
        if all(_effect(op) in present for op in ops):
            continue  # these operations are in already: patching cannot get this object any closer
        fixes.append(ov.PatchFile(_file_name(f"{name}-fix-{len(overlay.patches)}"), key[0], name,
                                  guards.guarded(ops, _comparable(built), frozenset(overlay.literals.values())),
                                  role="fix"))
    renames = [p for p in overlay.patches if p.role in ("rename", "stand-in")]
    others = [p for p in overlay.patches if p.role not in ("rename", "stand-in")]
    overlay.patches = others + fixes + renames
    return bool(fixes)


def _effect(op: dict) -> str:
    """An operation as what it leaves behind: ``add`` and ``replace`` of one value at one map key
    agree (``add`` at a list index inserts, so it stays ``add``)."""
    last = str(op.get("path", "")).rsplit("/", 1)[-1]
    inserts = op.get("op") == "add" and (last.isdigit() or last == "-")
    kind = "set" if op.get("op") in ("add", "replace") and not inserts else op.get("op")
    return json.dumps([kind, op.get("path"), op.get("from"), op.get("value")], sort_keys=True, default=str)


# --- object helpers ---------------------------------------------------------------------------




def _objects(text: str) -> list[dict]:
    return [d for d in yamlio.load_data_all(text) if isinstance(d, dict)]


def _key(obj: dict) -> Key:
    return str(obj.get("kind")), str((obj.get("metadata") or {}).get("name"))


key = _key

_ROLES = ("decode", "prefill")


def fullname_of(targets: list[dict], modelled: str) -> str:
    """The base of Helm's object names. The chart's naming rule gives ``modelled``; a render
    that names no object by it (a chart version that names differently) gives its own: the
    role workloads are named ``<fullname>-<role>``."""
    names = [_key(t)[1] for t in targets]
    if any(n == modelled or n.startswith(modelled + "-") for n in names):
        return modelled
    for target in targets:
        role = _labels(target).get("llm-d.ai/role") or _pod_labels(target).get("llm-d.ai/role")
        name = _key(target)[1]
        if role in _ROLES and name.endswith(f"-{role}") and target.get("kind") in WORKLOAD_KINDS:
            return name[: -len(role) - 1]
    return modelled


WORKLOAD_KINDS = ("Deployment", "LeaderWorkerSet", "ReplicaSet")


def _pod_labels(obj: dict) -> dict:
    spec = obj.get("spec") or {}
    template = spec.get("template") or (spec.get("leaderWorkerTemplate") or {}).get("workerTemplate") or {}
    return (template.get("metadata") or {}).get("labels") or {}


def _labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def _label(name: str, kind: str = "", shared: bool = False) -> str:
    """A short file-name label for a library object: decode, prefill, serviceaccount, epp-service,
    inferencepool, ... The kind is added where objects of several kinds share the name (a
    workload keeps the bare label)."""
    if name == LIBRARY_STEM:
        return (kind or "ServiceAccount").lower()
    label = name[len(LIBRARY_STEM) + 1:] if name.startswith(LIBRARY_STEM + "-") else name
    if shared and kind and kind not in WORKLOAD_KINDS:
        label = f"{label}-{kind.lower()}"
    return label


def _comparable(obj: dict) -> dict:
    """The object as compared for patching: no namespace, name or Helm provenance labels."""
    out = strip_nulls(copy.deepcopy(obj))
    meta = out.get("metadata") or {}
    meta.pop("namespace", None)
    meta.pop("name", None)
    labels = meta.get("labels")
    if isinstance(labels, dict):
        for label in PROVENANCE:
            labels.pop(label, None)
        if not labels:
            meta.pop("labels")
    return out


def _clean(obj: dict) -> dict:
    return strip_nulls(copy.deepcopy(obj))


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        out = {k: _pruned(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def _residual(rendered: list[dict], targets: list[dict], namespace: str) -> dict[Key, tuple[Any, Any]]:
    """The objects the render still gets wrong, as ``verify`` judges them (migrate.compare),
    each as (rendered, Helm's) with None for a missing side."""
    from migrate.compare import compare

    built = {_key(o): o for o in rendered}
    wanted = {_key(o): o for o in targets}
    verdict = compare(wanted, built, namespace)
    return {(o.kind, o.name): (built.get((o.kind, o.name)), wanted.get((o.kind, o.name))) for o in verdict.not_equal()}
