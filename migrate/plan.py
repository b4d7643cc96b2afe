"""From values to a Plan: which accelerator, components and literals, and where every value goes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from migrate.mapping import Table, holds, is_missing, leaves, lookup_leaf
from migrate.patchgen import same

OBJECTS_FILE = "objects.yaml"  # overlay.OBJECTS_FILE (overlay imports this module)

# A literal must survive `key=value` in a configMapGenerator unchanged.
_SAFE_LITERAL = re.compile(r"^[^\s'\"\\{}][^\n\r'\"\\{}]*(?<!\s)$")
_SECRET_NAME = re.compile(r"(TOKEN(?![A-Z])|SECRET|PASSWORD|PASSWD|API[-_]?KEY|CREDENTIAL)", re.I)
_ARG_LISTS = ("args", "command")


@dataclass(frozen=True)
class Leaf:
    """One leaf of the user's values and what became of it."""

    path: str
    status: str  # "mapped", "default", "unmapped" or "ignored" (a key the chart does not read there)
    entry: str | None = None
    to: str | None = None
    key: str | None = None  # for an ignored leaf: the key the chart does not read
    hint: str | None = None  # and the nearest key it reads there


@dataclass(frozen=True)
class Plan:
    """What the values choose, decided once: the fit works on an overlay made from it."""

    chart_version: str
    release: str
    namespace: str | None
    accelerator: str
    components: list[str]
    literals: dict[str, str]
    leaves: list[Leaf] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def unmapped(self) -> list[str]:
        return [leaf.path for leaf in self.leaves if leaf.status == "unmapped"]

    @property
    def ignored(self) -> list[Leaf]:
        """Leaves under a mapped key that the chart does not read (a misspelt key, say)."""
        return [leaf for leaf in self.leaves if leaf.status == "ignored"]


def make_plan(table: Table, user: dict, defaults: dict, effective: dict, *, release: str,
              namespace: str | None, model_uri: str | None, rendered: dict[str, str] | None = None) -> Plan:
    """Choose the library parts for ``effective`` values and account for every user leaf.
    ``rendered`` holds literals read off the Helm render, for what no value of this chart
    version names (v0.2.x labels its pods with the release's full name)."""
    literals = {name: value for name, value in (rendered or {}).items() if _SAFE_LITERAL.match(value)}
    literals.update(_literals(table, effective, model_uri))
    return Plan(
        chart_version=table.version,
        release=release,
        namespace=namespace,
        accelerator=table.accelerator_dir(effective),
        components=table.chosen_components(effective, defaults),
        literals=literals,
        leaves=account(table, user, defaults),
        warnings=secret_warnings(user),
    )


def rendered_literals(targets: list[dict]) -> dict[str, str]:
    """Literals read off the Helm render, for values no key of the chart version names (the
    release's full name in v0.2.x): ``modelLabel`` when every decode and prefill workload carries
    one and the same ``llm-d.ai/model``; for the v0.2.x gateway, the EPP's ``llm-d.ai/epp``
    label, its ``--poolName`` and ``--poolNamespace`` and the HTTPRoute's Gateway namespace."""
    found: dict[str, str] = {}
    models = set()
    for obj in targets:
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        template = spec.get("template") or (spec.get("leaderWorkerTemplate") or {}).get("workerTemplate") or {}
        labels = (template.get("metadata") or {}).get("labels") if isinstance(template, dict) else None
        if isinstance(labels, dict) and labels.get("llm-d.ai/role") in ("decode", "prefill"):
            models.add(labels.get("llm-d.ai/model"))
        if obj.get("kind") == "Deployment" and isinstance(labels, dict) and isinstance(labels.get("llm-d.ai/epp"), str):
            found["eppLabel"] = labels["llm-d.ai/epp"]
            for container in (template.get("spec") or {}).get("containers") or []:
                args = container.get("args") if isinstance(container, dict) else None
                if container.get("name") == "epp" and isinstance(args, list):
                    found.update(_flag_values(args, {"--poolName": "poolName", "--poolNamespace": "poolNamespace"}))
        if obj.get("kind") == "HTTPRoute":
            refs = spec.get("parentRefs")
            if isinstance(refs, list) and refs and isinstance(refs[0], dict) and isinstance(refs[0].get("namespace"), str):
                found["gatewayNamespace"] = refs[0]["namespace"]
    model = models.pop() if len(models) == 1 else None
    if isinstance(model, str) and model:
        found["modelLabel"] = model
    return found


def _flag_values(args: list, flags: dict[str, str]) -> dict[str, str]:
    """The argument after each of ``flags`` (``--poolName NAME``), by literal name."""
    out = {}
    for index, arg in enumerate(args[:-1]):
        if arg in flags and isinstance(args[index + 1], str):
            out[flags[arg]] = args[index + 1]
    return out


def _literals(table: Table, effective: dict, model_uri: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in table.literal_entries():
        if entry.when is not None and not holds(entry.when, effective):
            continue
        value = entry.value(effective)
        if entry.literal == "modelUri":
            value = model_uri
        if isinstance(value, str) and _SAFE_LITERAL.match(value):
            out[entry.literal] = value
    return out


def account(table: Table, user: dict, defaults: dict) -> list[Leaf]:
    """Classify every leaf path of the user's values: mapped, equal to the default, or unmapped."""
    out: list[Leaf] = []
    for path, value in leaves(user):
        if not path:
            continue
        default = lookup_leaf(defaults, path)
        if not is_missing(default) and same(default, value):
            out.append(Leaf(path, "default"))
            continue
        entry = table.entry_for(path)
        if entry is None:
            out.append(Leaf(path, "unmapped"))
            continue
        unread = entry.unread(re.sub(r"\[\d+\]", "[*]", path))
        if unread is not None:
            out.append(Leaf(path, "ignored", entry.id, None, *unread))
        else:
            out.append(Leaf(path, "mapped", entry.id, entry.to))
    return out


def secret_warnings(user: Any, path: str = "") -> list[str]:
    """Paths of values that carry a credential in plain text: env entries named like one,
    command-line flags named like one (``--api-key KEY``, ``--hf-token=TOKEN``) and Secret
    objects (``extraObjects``)."""
    found: list[str] = []
    if isinstance(user, dict):
        name = user.get("name")
        if isinstance(name, str) and user.get("value") not in (None, "") and _SECRET_NAME.search(name):
            found.append(f"{path}.value: env {name} carries a credential in plain text; "
                         "it is kept in a patch, never in a literal; consider a Secret (valueFrom)")
        if user.get("kind") == "Secret" and (user.get("data") or user.get("stringData")):
            found.append(f"{path or '(root)'}: a Secret with its data in the values; it is written to "
                         f"{OBJECTS_FILE} in plain text; consider creating it outside the overlay")
        for key, value in user.items():
            child = f"{path}.{key}" if path else str(key)
            if key in _ARG_LISTS and isinstance(value, list):
                found.extend(_flag_warnings(value, child))
            found.extend(secret_warnings(value, child))
    elif isinstance(user, list):
        for index, value in enumerate(user):
            found.extend(secret_warnings(value, f"{path}[{index}]"))
    return found


def _flag_warnings(args: list, path: str) -> list[str]:
    """Flags like ``--api-key KEY`` or ``--hf-token=TOKEN`` in a command or args list."""
    found: list[str] = []
    for index, arg in enumerate(args):
        if not isinstance(arg, str) or not arg.startswith("-"):
            continue
        flag, equals, value = arg.partition("=")
        if not _SECRET_NAME.search(flag):
            continue
        following = args[index + 1] if index + 1 < len(args) else None
        if equals and value:
            where = index
        elif not equals and isinstance(following, (str, int)) and not str(following).startswith("-"):
            where = index + 1
        else:
            continue
        found.append(f"{path}[{where}]: flag {flag} carries a credential in plain text; it is kept in a "
                     "patch, never in a literal; consider reading it from a Secret (env valueFrom)")
    return found
