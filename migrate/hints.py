"""What a failed comparison suggests, and what an overlay says about its own release.

Two kinds of mistakes make every object differ, and both are named by the objects:

- the wrong release: every Helm object is *missing* and the overlay's are *extra* under
  other names (``single-llm-d-modelservice-decode`` against ``other-llm-d-…``); the names
  give the release each side is of;
- the wrong namespace: every object the two sides share differs in ``metadata.namespace``;
  the Helm objects' own namespaces (a PodMonitor's), or the one they were compared in,
  give the namespace.

An overlay the tool wrote names its release in ``namePrefix: <release>-llm-d-`` and in the
``# Command: ... --release NAME`` header of ``kustomization.yaml``, and its namespace in
``namespace:`` (or an inline ``NamespaceTransformer``): :func:`overlay_settings` reads them,
so that ``verify`` compares in the overlay's namespace and renders a chart for its release
when neither option is given.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrate import yamlio
from migrate.compare import Change, Result, Status
from migrate.manifests import Objects

CHART_NAME = "llm-d-modelservice"
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_PREFIX = re.compile(r"^(?P<release>.+)-llm-d-$")
_ROLES = ("decode", "prefill")


@dataclass(frozen=True)
class OverlaySettings:
    """What an overlay's ``kustomization.yaml`` says about the release it is for."""

    file: str | None = None  # the kustomization file, as given
    namespace: str | None = None
    namespace_from: str = ""  # "namespace:" or "NamespaceTransformer"
    release: str | None = None
    release_from: str = ""  # "namePrefix" or "header"


def overlay_settings(overlay: Path) -> OverlaySettings:
    """The namespace and release the overlay states; empty when it states none or cannot be read."""
    import yaml

    for name in KUSTOMIZATION_FILES:
        path = Path(overlay) / name
        if path.is_file():
            break
    else:
        return OverlaySettings()
    try:
        text = path.read_text(encoding="utf-8")
        doc = yamlio.load_data(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return OverlaySettings()
    if not isinstance(doc, dict):
        return OverlaySettings()
    namespace, namespace_from = _namespace_of(doc)
    release, release_from = _release_of(doc, text)
    return OverlaySettings(str(path), namespace, namespace_from, release, release_from)


def _namespace_of(doc: dict) -> tuple[str | None, str]:
    if isinstance(doc.get("namespace"), str) and doc["namespace"]:
        return doc["namespace"], "namespace:"
    import yaml

    for entry in doc.get("transformers") or []:
        try:
            item = yamlio.load_data(entry) if isinstance(entry, str) and "\n" in entry else entry
        except yaml.YAMLError:
            continue
        if isinstance(item, dict) and item.get("kind") == "NamespaceTransformer":
            namespace = (item.get("metadata") or {}).get("namespace") if isinstance(item.get("metadata"), dict) \
                else None
            if isinstance(namespace, str) and namespace:
                return namespace, "NamespaceTransformer"
    return None, ""


def _release_of(doc: dict, text: str) -> tuple[str | None, str]:
    """The release of ``namePrefix: <fullname minus modelservice>`` (the tool's header
    settles a release whose name holds the chart's); else the ``# Command:`` header's."""
    header = _header_release(text)
    prefix = doc.get("namePrefix")
    if isinstance(prefix, str) and prefix:
        fullname = prefix + "modelservice"
        if header and _fullname(header) == fullname:
            return header, "namePrefix"
        match = _PREFIX.match(prefix)
        if match:
            return match["release"], "namePrefix"
    return (header, "header") if header else (None, "")


def _fullname(release: str) -> str:
    return release if CHART_NAME in release else f"{release}-{CHART_NAME}"


def _header_release(text: str) -> str | None:
    """``--release NAME`` of the ``# Command:`` line in the comment block that opens the file."""
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# Command:"):
            try:
                words = shlex.split(line.removeprefix("# Command:"))
            except ValueError:
                return None
            for option, value in zip(words, words[1:]):
                if option == "--release":
                    return value
            for word in words:
                if word.startswith("--release="):
                    return word.split("=", 1)[1]
    return None


def settings_note(what: str, value: str, settings: OverlaySettings, option: str) -> str:
    """``namespace llm-d from overlay/kustomization.yaml (namespace:); pass --namespace to override``"""
    source = {"namespace:": "namespace:", "NamespaceTransformer": "its NamespaceTransformer",
              "namePrefix": "namePrefix", "header": "the # Command: header"}.get(
        settings.namespace_from if what == "namespace" else settings.release_from, "")
    return f"{what} {value} from {settings.file} ({source}); pass {option} to override"


# --- the release ---------------------------------------------------------------------------


def release_from_names(objects: Objects) -> str | None:
    """The release the chart named these objects for: ``<release>-llm-d-modelservice-decode``
    gives ``<release>``; a release whose name holds the chart's is its full name itself."""
    found = fullname_from_names(objects)
    if found is None:
        return None
    return found[: -len(CHART_NAME) - 1] if found.endswith(f"-{CHART_NAME}") else found


def fullname_from_names(objects: Objects) -> str | None:
    """The base of the chart's object names (``<release>-llm-d-modelservice``): the name of a
    role workload without ``-decode`` / ``-prefill``, or of the ServiceAccount."""
    fullnames: Counter[str] = Counter()
    for kind, name in objects:
        for role in _ROLES:
            if name.endswith(f"-{role}") and kind in ("Deployment", "LeaderWorkerSet", "ReplicaSet"):
                fullnames[name[: -len(role) - 1]] += 2
        if kind == "ServiceAccount":
            fullnames[name] += 1
    return next((name for name, _ in fullnames.most_common() if CHART_NAME in name), None)


def _segments(name: str) -> list[str]:
    return name.split("-")


def renamed(result: Result) -> tuple[str, str] | None:
    """``(helm prefix, kustomize prefix)`` when the objects Helm has and the overlay lacks are
    the overlay's extra objects under another name prefix (most of them, by kind)."""
    missing = [(o.kind, o.name) for o in result.objects if o.status is Status.MISSING]
    extra = [(o.kind, o.name) for o in result.objects if o.status is Status.EXTRA]
    if not missing or not extra:
        return None
    pairs: Counter[tuple[str, str]] = Counter()
    for kind, name in missing:
        best: tuple[int, str, str] | None = None
        for other_kind, other in extra:
            if other_kind != kind:
                continue
            a, b = _segments(name), _segments(other)
            common = 0
            while common < min(len(a), len(b)) - 1 and a[-1 - common] == b[-1 - common]:
                common += 1
            if common and (best is None or common > best[0]):
                best = (common, "-".join(a[: len(a) - common]), "-".join(b[: len(b) - common]))
        if best is not None and best[1] != best[2]:
            pairs[best[1:]] += 1
    if not pairs:
        return None
    (prefixes, count), = pairs.most_common(1)
    return prefixes if count * 2 > len(missing) else None


@dataclass(frozen=True)
class ReleaseFacts:
    """Objects missing and extra under other names: the name prefix and release of each side."""

    text: str
    helm: str
    kustomize: str


def release_facts(result: Result, helm: Objects, kustomize: Objects, *, helm_is: str) -> ReleaseFacts | None:
    prefixes = renamed(result)
    if prefixes is None:
        return None
    helm_prefix, kustomize_prefix = prefixes
    missing = {(o.kind, o.name): helm.get((o.kind, o.name)) for o in result.objects if o.status is Status.MISSING}
    extra = {(o.kind, o.name): kustomize.get((o.kind, o.name)) for o in result.objects if o.status is Status.EXTRA}
    helm_base, kustomize_base = fullname_from_names(missing), fullname_from_names(extra)
    helm_release = release_from_names(missing) or helm_prefix
    kustomize_release = release_from_names(extra) or kustomize_prefix
    everything = not result.count(Status.DIFFERENT) + result.count(Status.EQUAL)
    text = (f"{'every object is' if everything else 'objects are'} missing and extra under other names: "
            f"{helm_is} names them {helm_base or helm_prefix or '(no prefix)'}-… (release {helm_release}), the "
            f"overlay {kustomize_base or kustomize_prefix or '(no prefix)'}-… (release {kustomize_release})")
    return ReleaseFacts(text, helm_release, kustomize_release)


# --- the namespace -------------------------------------------------------------------------


def _namespace_difference(obj: Any) -> tuple[Any, Any] | None:
    diff = next((d for d in obj.differences if d.path == "/metadata/namespace"), None)
    if diff is None:
        return None
    return (None if diff.change is Change.ONLY_KUSTOMIZE else diff.helm,
            None if diff.change is Change.ONLY_HELM else diff.kustomize)


def _stated_namespace(obj: dict | None) -> str | None:
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else None


@dataclass(frozen=True)
class NamespaceFacts:
    """Namespaces that differ: in every object both sides have, or in every one whose Helm
    side states its namespace itself (the chart writes one into a PodMonitor). ``stated`` is
    the one namespace the Helm objects state, ``overlay`` the overlay's one (else None)."""

    text: str
    everywhere: bool
    stated: str | None
    overlay: str | None


def namespace_facts(result: Result, helm: Objects) -> NamespaceFacts | None:
    shared = [o for o in result.objects if o.status in (Status.EQUAL, Status.DIFFERENT)]
    differing = {(o.kind, o.name): found for o in shared if (found := _namespace_difference(o)) is not None}
    if not differing:
        return None
    stating = {(o.kind, o.name): ns for o in shared if (ns := _stated_namespace(helm.get((o.kind, o.name))))}
    everywhere = len(differing) == len(shared)
    if not everywhere and not (stating and set(stating) <= set(differing)):
        return None
    helm_namespaces = {pair[0] for pair in differing.values()}
    kustomize_namespaces = {pair[1] for pair in differing.values()}
    stated = set(stating.values())
    overlay = [n for n in kustomize_namespaces if n is not None]
    if everywhere:
        text = (f"the namespace differs in every object: Helm's are in {_shown(helm_namespaces)}, the overlay's in "
                f"{_shown(kustomize_namespaces)}")
    else:
        named = ", ".join(f"{kind}/{name}" for kind, name in list(stating)[:3]) + (" …" if len(stating) > 3 else "")
        text = (f"the objects that state their namespace ({named}) are in {_shown(stated)}, the overlay puts them "
                f"in {_shown(kustomize_namespaces)}")
    return NamespaceFacts(text, everywhere, stated.pop() if len(stated) == 1 else None,
                          overlay[0] if len(overlay) == 1 and None not in kustomize_namespaces else None)


def _shown(namespaces: set[Any]) -> str:
    names = sorted(str(n) for n in namespaces if n is not None)
    text = ", ".join(names) if names else "none"
    return text + (" and none" if None in namespaces and names else "")


# --- the hints of each command ----------------------------------------------------------------


def hints_for(result: Result, helm: Objects, kustomize: Objects, *, against: str,
              namespace: str | None = None) -> tuple[str, ...]:
    """The hints for a comparison that failed. ``against`` is what the Helm side is:
    ``manifest`` (verify --manifest: the overlay must change), ``chart`` (verify --chart: the
    render follows the options) or ``migrate`` (--verify-against / --chart: the options made
    both). ``namespace`` is the one compared in."""
    if result.equivalent:
        return ()
    hints = []
    helm_is = {"manifest": "the manifest", "chart": "helm template"}.get(against, "the Helm render")
    release = release_facts(result, helm, kustomize, helm_is=helm_is)
    if release is not None:
        if against == "chart":
            fix = f"pass --release {release.kustomize}"
        elif against == "manifest":
            fix = f"the manifest is of release {release.helm}: migrate again with --release {release.helm}"
        else:
            fix = f"the render is of release {release.helm}: pass --release {release.helm}"
        hints.append(f"{release.text}; {fix}")
    facts = namespace_facts(result, helm)
    if facts is not None:
        hints.append(f"{facts.text}; {_namespace_fix(facts, against, namespace)}")
    return tuple(hints)


def with_hints(result: Result, helm: Objects, kustomize: Objects, *, against: str = "migrate",
               namespace: str | None = None) -> Result:
    """``result`` with the hints of :func:`hints_for`."""
    import dataclasses

    hints = hints_for(result, helm, kustomize, against=against, namespace=namespace)
    return dataclasses.replace(result, hints=hints) if hints else result


def _namespace_fix(facts: NamespaceFacts, against: str, namespace: str | None) -> str:
    if against == "chart" and facts.overlay:
        return f"pass --namespace {facts.overlay}"
    if facts.stated:
        if against == "manifest":
            return f"the manifest is of namespace {facts.stated}: migrate again with --namespace {facts.stated}"
        return f"the render is of namespace {facts.stated}: pass --namespace {facts.stated}"
    if facts.overlay and against == "manifest" and namespace:
        return (f"compared in {namespace} (--namespace); if the release runs in {facts.overlay}, pass --namespace "
                f"{facts.overlay} or leave it out (the overlay's is used), else migrate again with --namespace "
                f"{namespace}")
    if facts.overlay:
        return f"pass --namespace {facts.overlay}"
    return "pass the release's --namespace"
