"""Values files: load them as Helm does, merge the chart defaults, validate with the schema."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from functools import lru_cache
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from migrate import resources
from migrate.errors import InputError
from migrate.yamlio import YamlError, load_helm, load_shipped

if TYPE_CHECKING:
    import jsonschema

_HEADERS = ("USER-SUPPLIED VALUES:", "COMPUTED VALUES:")
# Helm keeps a release's values in a Secret of at most 1 MiB: anything larger is not
# `helm get values` output, and would take minutes to parse.
MAX_VALUES_BYTES = 1 << 20


def load_user_values(path: str | Path) -> dict[str, Any]:
    """The user's values as Helm reads them; ``null`` or an empty file gives ``{}``."""
    name = str(path)
    from migrate.reading import NoWriter, TooLarge, read_limited

    try:  # a pipe or FIFO too, never waiting longer than --timeout for its writer
        raw = read_limited(path, MAX_VALUES_BYTES)
    except TooLarge:
        raw = None
    except NoWriter as exc:
        raise InputError(f"cannot read values file: {exc} (--timeout)", file=name) from None
    except OSError as exc:
        raise InputError(f"cannot read values file: {exc.strerror or exc}", file=name) from None
    if raw is None:
        raise InputError(f"values file is over the {MAX_VALUES_BYTES // 2**20} MiB limit: Helm keeps a release's "
                         "values in a Secret of at most 1 MiB, so this is not `helm get values` output; "
                         "pass the release's values only", file=name)
    text = _decode(raw, name)
    text = _strip_header(text)
    from migrate.sniff import refuse_objects_as_values

    try:
        data = load_helm(text)
    except YamlError as exc:
        refuse_objects_as_values(text, name)  # a manifest (several documents) given as values
        raise InputError(f"invalid YAML: {exc}", file=name) from None
    refuse_objects_as_values(data, name)
    if data is None:
        return {}
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise InputError(f"values must be a map of keys, not {kind}", file=name)
    bad = _non_finite_number(data, "")
    if bad is not None:
        raise InputError(
            "infinity or NaN is not a valid value (Helm cannot convert it to JSON); quote it "
            "if a string is meant",
            file=name,
            key=bad,
        )
    return data


def _non_finite_number(value: Any, path: str) -> str | None:
    """The dotted path of the first infinite or NaN number, if any."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "(root)"
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = [(f"{path}.{k}" if path else str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    for child_path, child in items:
        found = _non_finite_number(child, child_path)
        if found is not None:
            return found
    return None


_WIDE = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def _decode(raw: bytes, name: str) -> str:
    """UTF-8 (a UTF-8 byte-order mark is fine). UTF-16 and UTF-32 are refused: Helm refuses
    them as Windows shells write them (`incomplete UTF-16 character`, `control characters are
    not allowed`), so such a file is not what a release was installed with."""
    wide = next((encoding for bom, encoding in _WIDE if raw.startswith(bom)), None)
    if wide is not None:
        raise InputError(f"not UTF-8 text but {wide} (values files are UTF-8, as `helm get values` writes "
                         f"them); convert it: iconv -f {wide} -t UTF-8", file=name)
    if b"\x00" in raw:
        raise InputError(f"not UTF-8 text: NUL bytes (byte {raw.index(0)}), as in UTF-16 or UTF-32 text; "
                         "convert it to UTF-8 (iconv)", file=name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (line {line}, byte {exc.start})", file=name) from None


def _strip_header(text: str) -> str:
    """Blank the header line ``helm get values`` prints before the YAML, after any comment
    lines (line numbers in error messages stay those of the file)."""
    body = text[1:] if text.startswith("\ufeff") else text
    lines = body.split("\n")
    for number, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            if line.strip() in _HEADERS:
                lines[number] = ""
                return "\n".join(lines)
            break
    return body


def merge_defaults(defaults: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of the user's values over the chart defaults: maps merge key by
    key, lists and scalars replace, a user ``null`` deletes the key (a default key too).
    The inputs are not changed."""
    return _coalesce(copy.deepcopy(user), copy.deepcopy(defaults), top=True)


def _coalesce(dst: dict[str, Any], src: dict[str, Any], top: bool) -> dict[str, Any]:
    """Helm's coalesceValues (top level) and coalesceTablesFullKey (below): at the top only
    nulls over default keys go; below, every null of a map merged with a default map goes.
    Subtrees without a default map are kept as given, nulls included."""
    nulled = set()
    if not top:
        nulled = {k for k, v in dst.items() if v is None}
        for key in nulled:
            del dst[key]
    for key, default in src.items():
        if key in nulled:
            continue
        if key not in dst:
            dst[key] = default
        elif dst[key] is None:
            del dst[key]
        elif isinstance(dst[key], dict) and isinstance(default, dict):
            _coalesce(dst[key], default, top=False)
    return dst


def _dotted(path: Any) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


def validate(effective: dict[str, Any], version: str, file: str | None = None, *, quick: bool = True) -> None:
    """Check effective values against the chart's JSON schema, as Helm does before rendering.

    ``jsonschema`` decides, and words every error. Its import alone takes about 40 ms, most of
    a migration's Python time, so values are first given to the schema compiled by
    ``fastjsonschema`` (kept in the cache, see :func:`_quick`): values it passes are valid.
    Values it refuses, and a schema it cannot compile, go to ``jsonschema``. The one risk,
    values that ``fastjsonschema`` passes and ``jsonschema`` refuses, is what the tests look
    for: they compare the two on every fixture's values and on generated ones. ``quick=False``
    (``batch``: its workers validate many releases, so jsonschema's import is paid once per
    worker, and compiling each chart version's check on an empty cache would cost more than it
    saves) leaves the decision to jsonschema alone.
    """
    if not resources.chart_schema_path(version).is_file():  # before v0.2.8: Helm checks nothing
        return
    check = _quick(version) if quick else None
    if check is not None and check(effective):
        return
    validator = _validator(version)
    if validator.is_valid(effective):
        return
    errors = sorted(validator.iter_errors(effective), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        first = errors[0]
        more = f" (and {len(errors) - 1} more schema error(s))" if len(errors) > 1 else ""
        raise InputError(
            f"{first.message} (values don't meet the chart's schema; Helm refuses them){more}",
            file=file,
            key=_error_key(first),
        )


QUICK_SECTION = "validators"


@lru_cache(maxsize=4)
def _quick(version: str) -> Callable[[Any], bool] | None:
    """Whether values meet ``version``'s schema, by the code ``fastjsonschema`` generates for it
    (without filling in defaults). Generating and compiling that code takes longer than
    ``jsonschema`` does, so it is kept in the cache, compiled (``marshal``), under the schema's
    digest, the generator's version and options and the bytecode's magic number. An entry holds
    code, so it is signed with this user's key, kept outside the cache (cache.write_signed): an
    entry restored from elsewhere is not run. Only draft-07 schemas without remote references
    are compiled (those ``fastjsonschema`` and ``jsonschema`` read alike; every shipped one). With
    no cache, no key, or another schema: None (``jsonschema`` alone)."""
    from migrate import cache

    if cache.cache_dir() is None or cache.signing_key() is None:
        return None
    try:
        import fastjsonschema
    except ImportError:
        return None
    path = resources.chart_schema_path(version)
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    import importlib.util
    import marshal

    options = {"use_default": False, "detailed_exceptions": False}
    key = cache.digest("values-schema", cache.bytes_digest(raw), fastjsonschema.VERSION, options,
                       importlib.util.MAGIC_NUMBER.hex())
    code = None
    body = cache.read_signed(QUICK_SECTION, key)
    if body is not None:
        try:
            code = marshal.loads(body)
        except (EOFError, ValueError, TypeError):
            code = None
    if code is None:
        try:
            schema = json.loads(raw)
            if not _compilable(schema):
                return None
            source = fastjsonschema.compile_to_code(schema, **options)
            code = compile(source, f"<values schema {version}>", "exec")
        except Exception:  # noqa: BLE001 - a schema it cannot compile: jsonschema alone decides
            return None
        cache.write_signed(QUICK_SECTION, key, marshal.dumps(code))
    namespace: dict[str, Any] = {}
    try:
        exec(code, namespace)  # noqa: S102 - fastjsonschema's own output, checksummed in our cache
        check = namespace["validate"]
    except Exception:  # noqa: BLE001
        return None

    def quick(values: Any) -> bool:
        try:
            check(values)
        except Exception:  # noqa: BLE001 - refused (or could not tell): jsonschema decides
            return False
        return True

    return quick


def _compilable(schema: Any) -> bool:
    """A draft-07 schema whose references are all local (``#...``)."""
    if not isinstance(schema, dict) or "draft-07" not in str(schema.get("$schema", "")):
        return False
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


@lru_cache(maxsize=4)
def _validator(version: str) -> Any:
    schema = _schema(version)
    if schema is None:
        return None
    import jsonschema

    return jsonschema.validators.validator_for(schema)(schema)


@lru_cache(maxsize=4)
def _schema(version: str) -> dict[str, Any] | None:
    path = resources.chart_schema_path(version)
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _error_key(error: jsonschema.ValidationError) -> str:
    """The dotted key of a schema error; for an unexpected key, that key itself."""
    path = list(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in allowed)
        if extra and not error.schema.get("patternProperties"):
            path.append(extra[0])
    return _dotted(path)


def load_defaults(version: str) -> dict[str, Any]:
    """The chart's default values for a chart version."""
    return copy.deepcopy(_defaults(version))


@lru_cache(maxsize=4)
def _defaults(version: str) -> dict[str, Any]:
    defaults = load_shipped(resources.chart_defaults_path(version).read_text(encoding="utf-8"))
    return defaults if isinstance(defaults, dict) else {}


def effective_values(path: str | Path, version: str = "v0.4.12") -> dict[str, Any]:
    """Chart defaults merged with the user's values file, validated against the schema."""
    effective = merge_defaults(load_defaults(version), load_user_values(path))
    validate(effective, version, str(path))
    return effective
