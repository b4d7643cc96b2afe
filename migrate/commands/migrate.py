"""``helm-to-kustomize VALUES -o DIR``: write an overlay that renders what Helm renders."""

from __future__ import annotations

import re
import shlex
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrate import __version__, library
from migrate import overlay as ov
from migrate.errors import EXIT_DIFFERENT, EXIT_OK, InputError, ToolError
from migrate.options import MigrateOptions
from migrate.plan import Plan, make_plan, rendered_literals

if TYPE_CHECKING:
    from migrate import helmside, tools
    from migrate.cache import RenderCache
from migrate.resources import CHART, data_dir

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_RELEASE = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")  # what Helm accepts: a DNS subdomain


@dataclass
class Outcome:
    """What one migration produced, for the report and for batch runs."""

    plan: Plan
    overlay: ov.Overlay
    output: Path
    residual: list[str] = field(default_factory=list)
    side: helmside.HelmSide | None = None  # what the overlay was fitted to
    verification: object | None = None  # a compare.Result when verified
    warnings: list[str] = field(default_factory=list)  # the plan's, the render's and the fit's
    placements: list = field(default_factory=list)  # migrate.placement.Placement of every mapped value

    @property
    def exit_code(self) -> int:
        if self.residual:
            return EXIT_DIFFERENT
        if self.verification is not None and not self.verification.equivalent:
            return EXIT_DIFFERENT
        return EXIT_OK


def run(opts: MigrateOptions) -> int:
    outcome = migrate(opts)
    from migrate.reporters.migration import write_reports  # --format: what --report FILE holds

    write_reports(outcome, opts.format, opts.report, color=opts.color)
    return outcome.exit_code


def migrate(opts: MigrateOptions, *, kustomize_build: Callable[[Path, str | None], str] | None = None) -> Outcome:
    """Load, plan, fit and write one overlay; nothing is written unless every step succeeds.

    ``kustomize_build(directory, kustomize)`` renders an overlay (default: tools.kustomize_build;
    batch passes one that renders the overlays of many releases in one Kustomize process)."""
    from migrate import helmside, tools, values

    release = release_name(opts)
    ov.check_output(opts.output, opts.force)
    check_inputs_outside(opts)
    check_values_size(opts.values)
    user = values.load_user_values(opts.values)
    side = helm_side(opts, release)
    version = helmside.resolve_version(opts.chart_version, side)
    defaults = values.load_defaults(version)
    effective = values.merge_defaults(defaults, user)
    namespace = opts.namespace or "default"
    if side is None:
        validate_offline(effective, user, version, opts)
        helmside.require_model(version, explicit=opts.chart_version is not None)
        checks = tools.Background(list, start=False)
    else:  # checked while Kustomize renders (started by the first build, so that it takes none of
        # the migration's time): the values' schema, and whether the chart model agrees
        real = side

        def check() -> list[str]:
            values.validate(effective, version, str(opts.values), quick=opts.quick_schema_check)
            warnings = model_disagreement(real, effective, release, namespace, version)
            # what the end of the migration imports and looks up, while Kustomize renders
            from migrate import hints, placement  # noqa: F401
            from migrate.reporters import migration  # noqa: F401
            ov._libc_rename()
            return warnings

        checks = tools.Background(check, start=False)
    try:
        return _migrate(opts, release, user, side, version, defaults, effective, namespace, checks,
                        kustomize_build)
    except Exception:
        try:
            checks.result()
        except InputError as refused:  # values Helm refuses: that error, as if checked first
            raise refused from None
        except Exception:  # noqa: BLE001 - the migration's own error is the one reported
            pass
        raise


def _migrate(opts: MigrateOptions, release: str, user: dict, side: helmside.HelmSide | None, version: str,
             defaults: dict, effective: dict, namespace: str, checks: tools.Background,
             kustomize_build: Callable[[Path, str | None], str] | None) -> Outcome:
    from migrate import chart, extra_objects, fit, helmside, tools
    from migrate.mapping import load_table

    try:
        targets = side.targets() if side is not None else chart.render(effective, release, namespace)
        extra_objects.check(effective, targets, release, namespace)  # broken items: exit 2, named
        if side is None:
            side = helmside.HelmSide({fit.key(t): t for t in targets}, "offline chart model", version, real=False)
        table = load_table(version)
        plan = make_plan(table, user, defaults, effective, release=release, namespace=opts.namespace,
                         model_uri=_modelled(side, lambda: model_uri(effective, release, namespace)),
                         rendered=rendered_literals(targets))
        fullname = fit.fullname_of(targets, _modelled(side, lambda: chart.fullname(effective, release)) or "")
        warnings = list(plan.warnings)
    except InputError as exc:
        raise in_file(exc, str(opts.values)) from exc
    try:
        warnings += refuse_unaccounted(plan, opts)
    except InputError as exc:
        raise (exc if side.real else _with_fitting_versions(exc, user, version, opts)) from None
    created = ov.missing_ancestor(opts.output)
    staging = ov.staging_dir(opts.output)
    copying = None
    try:
        checkout = library.find_checkout(opts.output.absolute())
        copy = staging / library.COPY_NAME if checkout is None else None
        ref = library.COPY_NAME if checkout is None else library.reference(opts.output, checkout)
        overlay = ov.Overlay.from_plan(plan, ref, header=header(opts, release, version, plan, side))
        kustomize = opts.tools.kustomize
        if copy is not None:  # the library blocks are copied while the overlay is fitted
            copying = tools.Background(lambda: library.copy_used(copy, library.used_blocks(plan.accelerator,
                                                                                            plan.components)),
                                       start=False)
            copying.start()  # started only once `copying` is set, so that a failure always waits for it

        def build(directory: Path) -> str:
            if copying is not None:  # the blocks this render needs are in place
                copying.result()
            checks.start()
            return (kustomize_build or tools.kustomize_build)(directory, kustomize)

        root = checkout or data_dir("kustomize")
        fitted = fit.fit(staging, overlay, targets, fullname, table, build,
                         render_cache(kustomize, root), lambda: library.generated_ids(root),
                         extra_ids(effective), namespace)
        warnings += checks.result()
        if copy is not None:
            library.prune(copy, library.used_blocks(plan.accelerator, fitted.components))
        outcome = Outcome(plan, fitted.overlay, opts.output, fitted.residual, side=side,
                          warnings=warnings + fitted.warnings)
        outcome.placements = place_values(plan, user, table, fitted, staging)
        if opts.verify_against or opts.chart:
            outcome.verification = _verify(opts, side, fitted.rendered)
        ov.commit(staging, opts.output, force=opts.force)
    except OSError as exc:
        _discard(staging, created, copying)
        raise InputError(f"cannot write the overlay ({exc.strerror or exc}); nothing was changed",
                         file=str(opts.output)) from exc
    except ToolError as exc:
        _discard(staging, created, copying)
        shown = str(exc).replace(str(staging), str(opts.output))  # never a staging path that is gone
        raise ToolError(f"{shown} (the overlay for {opts.output} was not written)") from exc
    except BaseException:
        _discard(staging, created, copying)
        raise
    return outcome


def refuse_unaccounted(plan: Plan, opts: MigrateOptions) -> list[str]:
    """Values that reach nothing are an error (exit 2) unless ``--allow-unmapped``: a key no
    table entry maps, and a key below a mapped one that the chart does not read but that is
    close to one it reads (a misspelling: ``resoures``, ``envv``). A key the chart does not read
    and that resembles none it reads (a field this chart version does not copy, such as a
    container's ``ports`` before v0.2.1) is a warning: the render shows it was never deployed."""
    misspelt = [leaf for leaf in plan.ignored if leaf.hint]
    unread = [leaf for leaf in plan.ignored if not leaf.hint]
    warnings = [ignored_line(leaf, plan.chart_version) + "; left out" for leaf in unread]
    count = len(plan.unmapped) + len(misspelt)
    if not count:
        return warnings
    if opts.allow_unmapped:
        return warnings + [ignored_line(leaf, plan.chart_version) + "; left out (--allow-unmapped)"
                           for leaf in misspelt]
    more = f" (and {count - 1} more)" if count > 1 else ""
    if plan.unmapped:
        raise InputError(f"no mapping for this value{more}; the chart ignores it or this version does not "
                         "support it; remove it or pass --allow-unmapped", file=str(opts.values),
                         key=plan.unmapped[0])
    leaf = misspelt[0]
    raise InputError(f"{ignored_line(leaf, plan.chart_version, keyed=False)}{more}; fix or remove it, or pass "
                     "--allow-unmapped", file=str(opts.values), key=leaf.path)


def ignored_line(leaf: Any, version: str, keyed: bool = True) -> str:
    """``decode.containers[0].resoures.limits: ignored by the chart: ... does not read `resoures` here
    (did you mean `resources`?)``"""
    text = f"ignored by the chart: {CHART} {version} does not read `{leaf.key}` here"
    if leaf.hint:
        text += f" (did you mean `{leaf.hint}`?)"
    return f"{leaf.path}: {text}" if keyed else text


def model_disagreement(side: helmside.HelmSide, effective: dict, release: str, namespace: str,
                       version: str) -> list[str]:
    """Where the chart model, for a version it covers, renders these values otherwise than the
    given render: the values and the render are then of different releases or revisions. The
    overlay follows the render (what runs); the warning names the objects."""
    from migrate import chart, fit, helmside
    from migrate.compare import compare

    if version not in helmside.MODELLED_VERSIONS:
        return []
    try:
        modelled = {fit.key(t): t for t in chart.render(effective, release, namespace)}
    except InputError:
        return []
    result = compare(side.objects, modelled, namespace)
    if result.equivalent:
        return []
    differing = [obj.id for obj in result.not_equal()]
    named = ", ".join(differing[:4]) + (" ..." if len(differing) > 4 else "")
    return [f"the values do not explain the render ({named}): chart {version} renders them "
            "otherwise; the overlay follows the render. Are the values and the manifest of the same release "
            "and revision?"]


def helm_side(opts: MigrateOptions, release: str) -> helmside.HelmSide | None:
    """The release's real render, when one is at hand: the manifest, or ``helm template``."""
    from migrate import helmside

    if opts.verify_against is not None and opts.chart is not None:
        raise InputError("give at most one of --verify-against and --chart")
    if opts.verify_against is not None:
        return helmside.from_manifest(opts.verify_against)
    if opts.chart is not None:
        version = opts.chart_version
        if version and not version.startswith("v"):
            version = f"v{version}"
        return helmside.from_chart(opts.chart, opts.values, release, opts.namespace, version, opts.tools)
    return None


def validate_offline(effective: dict, user: dict, version: str, opts: MigrateOptions) -> None:
    """Validate for the chart model; values that only an older chart accepts get a hint naming it."""
    from migrate import values

    try:
        values.validate(effective, version, str(opts.values), quick=opts.quick_schema_check)
    except InputError as exc:
        raise _with_fitting_versions(exc, user, version, opts) from None


def _with_fitting_versions(exc: InputError, user: dict, version: str, opts: MigrateOptions) -> InputError:
    """``exc``, and when no --chart-version was given, the releases whose schema accepts the
    values and whose table maps every one of them: the release is likely of one of those."""
    from migrate import helmside

    if opts.chart_version is not None:
        return exc
    fitting = [v for v in helmside.versions_accepting(lambda v: _fits(user, v)) if v != version]
    if not fitting:
        return exc
    return InputError(f"{_unplaced(exc)}; these values fit chart {helmside.ranges(fitting)}: give the release's "
                      "render with --verify-against MANIFEST, or --chart CHART --chart-version V",
                      file=exc.file, key=exc.key)


def _fits(user: dict, version: str) -> None:
    """Raise InputError unless ``version``'s schema accepts ``user`` and its table maps every value."""
    from migrate import values
    from migrate.mapping import load_table
    from migrate.plan import account

    defaults = values.load_defaults(version)
    # jsonschema alone: it is loaded already, and compiling a quick check for each version costs more
    values.validate(values.merge_defaults(defaults, user), version, quick=False)
    if any(leaf.status == "unmapped" or (leaf.status == "ignored" and leaf.hint)
           for leaf in account(load_table(version), user, defaults)):
        raise InputError("not mapped")


def _unplaced(exc: InputError) -> str:
    """The message of ``exc`` without its ``file: key: `` prefix."""
    text = str(exc)
    for part in (exc.file, exc.key):
        if part and text.startswith(f"{part}: "):
            text = text[len(part) + 2:]
    return text


def place_values(plan: Plan, user: dict, table: Any, fitted: Any, staging: Path) -> list:
    """Where each mapped value went; each patch file then says in a comment which values it
    carries (rewritten in place: comments change nothing Kustomize renders)."""
    from migrate import placement

    placements = placement.place(plan.leaves, user, table, fitted, fitted.objects)
    for patch in fitted.patches:
        carried = [p.path for p in placements if p.where.startswith("patch ") and patch.path in p.where.split(", ")
                   or p.where == f"patch {patch.path}"]
        patch.comment = patch_comment(patch, carried, plan.chart_version)
    ov.write(fitted.overlay, staging)
    return placements


def patch_comment(patch: ov.PatchFile, carried: list[str], version: str) -> list[str]:
    """One line on what a patch file is for."""
    if patch.role == "delete":
        return [f"{CHART} {version} renders no {patch.kind} like this library one for these values."]
    if patch.role in ("rename", "stand-in"):
        return ["The name Helm gives this object."]
    shown = ", ".join(carried[:5]) + (f" and {len(carried) - 5} more" if len(carried) > 5 else "")
    if carried:
        return [f"Carries {shown}."]
    what = "What the render still differed in." if patch.role == "fix" else \
        f"Where {CHART} {version} renders this object otherwise than the library (no value of the release sets it)."
    return [what]


def extra_ids(effective: dict) -> frozenset[tuple[str, str]]:
    """Kind and name of the values' own ``extraObjects`` items (names that are plain text)."""
    items = effective.get("extraObjects")
    items = list(items.values()) if isinstance(items, dict) else items if isinstance(items, list) else []
    ids = set()
    for item in items:
        meta = item.get("metadata") if isinstance(item, dict) else None
        if isinstance(meta, dict) and isinstance(item.get("kind"), str) and isinstance(meta.get("name"), str):
            ids.add((item["kind"], meta["name"]))
    return frozenset(ids)


def _discard(staging: Path, created: Path | None, copying: tools.Background | None) -> None:
    """Remove the staging directory, once the library copy has stopped writing into it."""
    if copying is not None:
        copying.wait()
    ov.discard(staging, created)


def render_cache(kustomize: str | None, library_root: Path) -> RenderCache | None:
    """The cache of library renders for this Kustomize program and library, if the cache is on."""
    from migrate import cache, tools

    if cache.cache_dir() is None:
        return None
    tool = tools.find_kustomize(kustomize)
    return cache.RenderCache(cache.build_identity(tool.path, tool.version),
                             cache.tree_digest(library_root, library.BLOCKS))


def check_values_size(path: Path) -> None:
    """Refuse a values file far larger than any Helm release holds, before parsing it for minutes."""
    from migrate import values

    try:
        info = path.stat()
    except OSError:
        return  # reading it names the problem
    if stat.S_ISREG(info.st_mode) and info.st_size > values.MAX_VALUES_BYTES:
        raise InputError(
            f"values file is {info.st_size / 2**20:.1f} MiB, over the {values.MAX_VALUES_BYTES // 2**20} MiB limit: Helm "
            "keeps a release's values in a Secret of at most 1 MiB, so this is not `helm get values` output; "
            "pass the release's values only", file=str(path))


def check_inputs_outside(opts: MigrateOptions) -> None:
    """--force replaces DIR: refuse when that would delete an input of this very migration."""
    if not opts.force or not opts.output.is_dir():
        return
    out = opts.output.resolve()
    inputs = {"VALUES": opts.values, "--verify-against": opts.verify_against,
              "--chart": Path(opts.chart) if opts.chart else None}
    for option, path in inputs.items():
        if path is not None and path.exists() and out in (path.resolve(), *path.resolve().parents):
            raise InputError(f"--force would delete {option} {path}, which is inside it; move it out or "
                             "choose another output directory", file=str(opts.output))


def in_file(exc: InputError, file: str) -> InputError:
    """The same error naming the values file, when it names only a key (the chart model's refusals)."""
    if exc.file:
        return exc
    where = f"{exc.key}: " if exc.key else ""
    text = str(exc)
    return type(exc)(text[len(where):] if text.startswith(where) else text, file=file, key=exc.key)


def _modelled(side: helmside.HelmSide, derive: Callable[[], Any]) -> Any:
    """What the chart model derives from the values. With a real render at hand, a value the
    model cannot derive (a template construct it does not implement) is no reason to stop:
    the render has the word, so the derived value is left out (None)."""
    try:
        return derive()
    except InputError:
        if side.real:
            return None
        raise


def model_uri(effective: dict, release: str, namespace: str) -> str | None:
    """``modelArtifacts.uri`` as the chart reads it (an hf:// rest is a template), or None
    when it renders differently per role or container, so that no single literal can stand for it."""
    from migrate.chart import split_uri
    from migrate.chart.context import Release, RoleContext, render_value

    scheme, rest = split_uri(effective)
    if scheme != "hf" or "{{" not in rest:
        return effective["modelArtifacts"]["uri"]
    rendered = set()
    for role in ("decode", "prefill"):
        context = RoleContext(effective, Release(release, namespace), role)
        for container in (effective.get(role) or {}).get("containers") or [{}]:
            rendered.add(render_value(rest, context.container_context(container), "modelArtifacts.uri"))
    return f"hf://{rendered.pop()}" if len(rendered) == 1 else None


def _verify(opts: MigrateOptions, side: helmside.HelmSide, built: str) -> object:
    """Verify the staged overlay (``built`` is its render) against the Helm side."""
    from migrate.compare import compare
    from migrate.hints import with_hints
    from migrate.manifests import parse_manifest

    # Helm renders into "default" when no namespace is given, and so does the chart model.
    namespace = opts.namespace or "default"
    kustomize = parse_manifest(built, source="kustomize output")
    return with_hints(compare(side.objects, kustomize, namespace), side.objects, kustomize, namespace=namespace)


def release_name(opts: MigrateOptions) -> str:
    release = opts.release or opts.output.absolute().name
    if len(release) > 53 or not _RELEASE.match(release):
        where = "--release" if opts.release else f"release name from the output directory {opts.output}"
        raise InputError(f"{release!r} is not a valid Helm release name (lowercase letters, digits, '-' and '.', "
                         "at most 53 characters); pass --release", key=where)
    return release


def header(opts: MigrateOptions, release: str, version: str, plan: Plan, side: helmside.HelmSide | None
           ) -> list[str]:
    command = ["helm-to-kustomize", str(opts.values), "-o", str(opts.output), "--release", release]
    if opts.namespace:
        command += ["--namespace", opts.namespace]
    if opts.chart_version:
        command += ["--chart-version", opts.chart_version]
    if opts.verify_against:
        command += ["--verify-against", str(opts.verify_against)]
    if opts.chart:
        command += ["--chart", opts.chart]
    if opts.allow_unmapped:
        command += ["--allow-unmapped"]
    lines = [f"Generated by helm-to-kustomize {__version__} from {CHART} {version} values.",
             f"Fitted to: {side.described if side is not None else 'offline chart model; not checked against Helm'}.",
             f"Command: {shlex.join(command)}"]
    if plan.unmapped or plan.ignored:
        lines += ["", "Unmapped values (the chart ignores them; kept out of this overlay):"]
        lines += [f"  {path}" for path in plan.unmapped]
        lines += [f"  {leaf.path} (`{leaf.key}` is not read there)" for leaf in plan.ignored]
    return lines


# --- reports --------------------------------------------------------------------------------


def text_report(outcome: Outcome, color: bool = False) -> str:
    plan = outcome.plan
    counts = {s: sum(1 for leaf in plan.leaves if leaf.status == s)
              for s in ("mapped", "default", "unmapped", "ignored")}
    lines = [
        f"wrote {outcome.output} (release {plan.release}, namespace {plan.namespace or 'none set'}, "
        f"{CHART} {plan.chart_version}, fitted to {_source(outcome)}): accelerator {outcome.overlay.accelerator}, "
        f"components {', '.join(outcome.overlay.components) or 'none'}, {len(outcome.overlay.patches)} patches",
        f"values: {counts['mapped']} mapped, {counts['default']} equal to the chart default, "
        f"{counts['unmapped']} unmapped" + (f", {counts['ignored']} ignored by the chart" if counts["ignored"] else ""),
    ]
    lines += [f"  unmapped: {path}" for path in plan.unmapped]
    lines += [f"  no effect: {p.path}" + (f" ({p.reason})" if p.reason else "")
              for p in outcome.placements if not p.effective]
    lines += [f"warning: {w}" for w in outcome.warnings]
    if outcome.residual:
        lines.append("NOT EQUIVALENT to the chart's objects: " + ", ".join(outcome.residual))
    if outcome.verification is not None:
        verdict = "equivalent" if outcome.verification.equivalent else "NOT equivalent"
        lines.append(f"verify: {verdict} to the Helm render")
    return "".join(_painted(ov.printable(line), color) + "\n" for line in lines)


def _painted(line: str, color: bool) -> str:
    """The verdict and warnings coloured as verify colours its report (on a terminal)."""
    paint = next((code for start, code in (("verify: NOT", "31"), ("NOT EQUIVALENT", "31"), ("verify: equivalent", "32"),
                                           ("warning:", "33")) if line.startswith(start)), None)
    return f"\033[{paint}m{line}\033[0m" if color and paint else line


def _source(outcome: Outcome) -> str:
    side = outcome.side
    return side.described if side is not None else "offline chart model; not checked against Helm"


def _value_report(leaf: Any, placed: Any) -> dict:
    """One value of the report: its status (``no-effect`` for a mapped value that changes
    nothing), its table entry, and where it went."""
    out = {"path": leaf.path, "status": leaf.status, "entry": leaf.entry, "to": leaf.to}
    if placed is not None:
        out["where"] = placed.where
        if not placed.effective:
            out["status"] = "no-effect"
            out["reason"] = placed.reason
    return out


def json_report(outcome: Outcome) -> dict:
    plan = outcome.plan
    placed = {p.path: p for p in outcome.placements}
    return {
        "chart": CHART,
        "chartVersion": plan.chart_version,
        "release": plan.release,
        "namespace": plan.namespace,
        "overlay": str(outcome.output),
        "fittedTo": _source(outcome),
        "checkedAgainstHelm": bool(outcome.side is not None and outcome.side.real),
        "accelerator": plan.accelerator,
        "components": outcome.overlay.components,
        "literals": outcome.overlay.literals,
        "patches": [p.path for p in outcome.overlay.patches],
        "values": [_value_report(leaf, placed.get(leaf.path)) for leaf in plan.leaves],
        "unmapped": plan.unmapped,
        "ignored": [{"path": leaf.path, "key": leaf.key, "didYouMean": leaf.hint} for leaf in plan.ignored],
        "warnings": outcome.warnings,
        "equivalent": outcome.exit_code == EXIT_OK,
    }

