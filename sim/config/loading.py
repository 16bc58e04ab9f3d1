"""Scenario files -> one validated, frozen Scenario: YAML, base: files, --set overrides."""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import math
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import (
    ValidationError,
)

from sim.config.common import ScenarioError
from sim.config.scenario import Scenario

# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml parser when available
    """Safe YAML (no object construction) that leaves dates as text.

    pydantic then parses them, so an impossible date such as 2020-02-30 is reported with
    its dotted path instead of failing inside the YAML parser.
    """


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # A key given twice is almost always an editing slip; PyYAML would keep the last.
    # Merge keys (``<<: *defaults``, standard YAML) are not keys: the mapping merged in
    # may be overridden by the keys written beside it, which is their purpose.
    seen: dict = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (also on line {seen[key]})", key_node.start_mark)
        seen[key] = key_node.start_mark.line + 1
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _load(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader


# Deeper than this, a scenario is a mistake (the schema itself is about 6 levels deep).
MAX_DEPTH = 40


def _read_yaml(path: Path) -> tuple[dict, str]:
    if path.is_dir():
        raise ScenarioError(path, "", "is a folder, not a scenario file")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(path, "", f"not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start} "
                                      "cannot be decoded); save the file as UTF-8", line) from None
    if "\x00" in text:
        raise ScenarioError(path, "", "contains NUL characters: not a text file")
    try:
        data = _load(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        if "maximum nesting depth" in problem:  # libyaml's own limit (1,000 levels)
            raise ScenarioError(path, "", f"nested too deeply (more than {MAX_DEPTH} levels)") from None
        raise ScenarioError(path, "", f"malformed YAML: {problem}", None if line is None else line + 1) from None
    except RecursionError:
        raise ScenarioError(path, "", f"nested too deeply (more than {MAX_DEPTH} levels)") from None
    if data is None:
        raise ScenarioError(path, "", "the file is empty (or only comments); a scenario needs at least "
                                      "'name:' or 'base:' (the built-in default year is the 'base' of "
                                      "scenarios/baseline_2020.yaml)")
    if not isinstance(data, dict):
        raise ScenarioError(path, "", f"a scenario must be a mapping of keys, not {type(data).__name__}")
    depth = _depth(data)
    if depth > MAX_DEPTH:
        raise ScenarioError(path, "", f"nested {depth} levels deep (limit {MAX_DEPTH})")
    return data, text


def _depth(x, seen: set | None = None) -> int:
    """Nesting depth of mappings and lists (shared YAML aliases counted once)."""
    seen = set() if seen is None else seen
    if not isinstance(x, dict | list) or id(x) in seen:
        return 0
    seen.add(id(x))
    items = x.values() if isinstance(x, dict) else x
    return 1 + max((_depth(v, seen) for v in items), default=0)


def _resolve(path: Path, file: Path, key: str, line: int | None = None) -> Path:
    """``path.resolve()``, with a symlink loop reported as a scenario error."""
    try:
        return path.resolve()
    except (RuntimeError, OSError):
        raise ScenarioError(file, key, f"{path.name!r} is a symbolic link loop", line) from None


def _confined(path: Path, base: str, line: int | None, roots: tuple[Path, ...] = ()) -> Path:
    """The resolved ``base:`` of ``path``: inside ``roots`` (the project and the folder of
    ``path``), an existing file, not a folder or a link loop."""
    roots = roots or (PROJECT_ROOT, _resolve(path, path, "base").parent)
    if not isinstance(base, str) or not base.strip():
        raise ScenarioError(path, "base", "must be a path to another scenario file", line)
    base_path = _resolve(path.parent / base, path, "base", line)
    if not _inside(base_path, roots):
        raise ScenarioError(path, "base", f"{base!r} is outside the project and the scenario's folder", line)
    if base_path.is_dir():
        raise ScenarioError(path, "base", f"{base!r} is a folder, not a scenario file", line)
    if not base_path.is_file():
        raise ScenarioError(path, "base", f"base scenario {base!r} does not exist", line)
    return base_path


def _merge(base: dict, over: dict) -> dict:
    """Mappings merge key by key; anything else in ``over`` replaces ``base``."""
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


# Where a ``base:`` may point: inside the project (the repository holding this package)
# or inside the folder of the scenario named on the command line. A scenario file cannot
# pull in arbitrary files from elsewhere on the machine.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    return any(path == r or r in path.parents for r in roots)


def _resolve_bases(
    path: Path, seen: tuple[Path, ...] = (), roots: tuple[Path, ...] = ()
) -> tuple[dict, list[tuple[Path, str]]]:
    """Read ``path`` and its chain of ``base:`` files; return merged data and sources."""
    path = _resolve(path, path, "")
    roots = roots or (PROJECT_ROOT, path.parent)
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(seen[-1], "base", f"scenario includes itself ({chain})")
    data, text = _read_yaml(path)
    base = data.pop("base", None)
    sources = [(path, text)]
    if base is None:
        return data, sources
    line = _line_of(text, ["base"])
    if not isinstance(base, str):
        raise ScenarioError(path, "base", "must be a path to another scenario file", line)
    base_path = _confined(path, base, line, roots)
    base_data, base_sources = _resolve_bases(base_path, (*seen, path), roots)
    return _merge(base_data, data), sources + base_sources


@functools.lru_cache(maxsize=64)
def _compose(text: str) -> yaml.Node:
    """The YAML node tree of ``text`` (read only), with libyaml's C parser when PyYAML has
    it: finding where each setting came from composes the same file once per setting."""
    return yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _line_of(text: str, keys: list[str | int]) -> int | None:
    """1-based line of a dotted path in YAML text, or None if the path is not there."""
    try:
        node = _compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(key)]
            if not match:
                return line
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def _set_path(data: dict, dotted: str, value: Any, known: dict) -> None:
    """Set ``dotted`` in ``data``; the path must exist in ``known`` (defaults + file)."""
    keys = dotted.split(".")
    node, ref = data, known
    for i, key in enumerate(keys):
        here = ".".join(keys[: i + 1])
        if ref is None:
            # An optional section that is off (None, e.g. callbacks.dedicated): a path into
            # it switches it on; validation then checks its keys and required fields.
            ref = {key: None}
        if not isinstance(ref, dict) or key not in ref:
            raise ScenarioError("--set", dotted, f"no such setting ({here!r} does not exist)")
        if i == len(keys) - 1:
            node[key] = value
        else:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node, ref = node[key], ref[key]


def _loc_to_path(loc: tuple) -> list[str | int]:
    # pydantic puts the tag of a discriminated union (e.g. 'lognormal') and the name of
    # a union member (e.g. 'function-after[...]') in the location; they are not keys.
    out: list[str | int] = []
    for part in loc:
        if isinstance(part, str) and (
            part in {"exponential", "lognormal", "gamma", "fixed", "empirical"}
            or "[" in part
            or part in {"int", "str", "list", "dict"}
        ):
            continue
        out.append(part)
    return out


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=3", "c=[1, 2]"]`` -> ``{"a.b": 3, "c": [1, 2]}`` (values parsed as YAML)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise ScenarioError("--set", item, "expected PATH=VALUE")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = _load(raw)
        except yaml.YAMLError:
            raise ScenarioError("--set", key.strip(), f"value {raw!r} is not valid YAML") from None
    return out


def load_scenario(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> Scenario:
    """Load, merge (``base:``), override (``--set``) and validate a scenario.

    ``path=None`` gives the default scenario (plus overrides). Raises
    :class:`ScenarioError` with file, dotted path and YAML line on any problem.
    """
    if path is None:
        data, sources = {}, []
    else:
        data, sources = _resolve_bases(Path(path))
    known = _merge(Scenario().model_dump(by_alias=True), data)
    for dotted, value in (overrides or {}).items():
        _set_path(data, dotted, value, known)
    problems = [(keys, msg) for keys, msg in _suspicious(data, known)]
    scn = None
    try:
        scn = Scenario.model_validate(data)
    except ValidationError as e:
        # A missing key comes last: it is often the consequence of a misspelt one.
        errs = sorted(e.errors(), key=lambda err: err["type"] == "missing")
        problems += [_problem(err, known) for err in errs]
    if scn is not None and not problems:
        from sim.config.checks import semantic_problems

        # A date outside the horizon counts when one file sets both (or the horizon is
        # the default); a short horizon over a base's full-year events is intended.
        # A resolved scenario.yaml of a results folder (every section written out) is
        # reloaded as it was run: its base's events may lie outside its horizon.
        h = _origin(["horizon"], overrides or {}, sources)
        resolved = bool(sources) and set(Scenario.model_fields) <= set(data)
        problems = [(k, m) for k, m, horizon in semantic_problems(scn)
                    if not horizon or (not resolved and (h is None or _origin(k, overrides or {}, sources) == h))]
    if problems:
        errors = [_located(keys, msg, overrides or {}, sources) for keys, msg in problems]
        first = errors[0]
        first.more = errors[1:]
        raise first
    return scn


def _problem(err: dict, known: dict) -> tuple[list, str]:
    """A pydantic error as (keys, message), with "did you mean" for a misspelt key."""
    keys = _loc_to_path(err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
        close = difflib.get_close_matches(str(keys[-1]), _fields_at(keys[:-1]), n=1, cutoff=0.6)
        if close:
            msg += f"; did you mean {close[0]!r}?"
    elif err["type"] == "dict_type" and keys[-2:] == ["staffing", "lines"]:
        msg = "must be a whole number (the same for every province) or a mapping province: lines"
    elif err["type"] == "dict_type":
        msg = "must be a mapping (key: value lines)"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if "input" in err and err["type"] not in ("extra_forbidden", "missing") and not isinstance(err["input"], dict | list):
        msg = f"{msg} (got {err['input']!r})"
    return keys, msg


def _origin(keys: list, overrides: dict, sources: list):
    """Which file (index in ``sources``, or "--set") sets ``keys``."""
    dotted = ".".join(str(k) for k in keys)
    if any(o == dotted or o.startswith(dotted + ".") for o in overrides):
        return "--set"
    for i, (_src, text) in enumerate(sources):
        if _has_path(text, keys):
            return i
    return None


def _has_path(text: str, keys: list) -> bool:
    """Whether the YAML ``text`` itself sets the dotted path ``keys``."""
    try:
        node = _compose(text)
    except yaml.YAMLError:
        return False
    for key in keys:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == str(key)]
            if not match:
                return False
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            return False
    return True


def _located(keys: list, msg: str, overrides: dict, sources: list) -> ScenarioError:
    """The error for ``keys``, in the file that sets this path (the scenario itself
    before its bases), with its YAML line; or ``--set`` for an override."""
    dotted = ".".join(str(k) for k in keys)
    if dotted in overrides:
        return ScenarioError("--set", dotted, msg)
    for src, text in sources:
        line = _line_of(text, keys)
        if line is not None:
            return ScenarioError(src, dotted, msg, line)
    return ScenarioError(sources[0][0] if sources else None, dotted, msg)


def _suspicious(data, known=None, keys: list | None = None, seen: set | None = None):
    """Values pydantic would accept but that make no sense: infinite or NaN numbers, a
    boolean where a number belongs (pydantic reads ``true`` as 1) and a bare number where
    a date belongs (pydantic reads 20200101 as seconds since 1970)."""
    keys = keys or []
    seen = set() if seen is None else seen
    if isinstance(data, dict | list):
        if id(data) in seen:
            return
        seen.add(id(data))
        items = data.items() if isinstance(data, dict) else enumerate(data)
        for k, v in items:
            yield from _suspicious(v, None, [*keys, k], seen)
    elif isinstance(data, float) and not math.isfinite(data):
        yield keys, f"must be a finite number (got {data!r})"
    elif isinstance(data, bool | int):
        kinds = _leaf_types(keys)
        if isinstance(data, bool) and kinds and bool not in kinds and kinds & {int, float}:
            yield keys, f"must be a number, not a boolean (got {str(data).lower()})"
        elif not isinstance(data, bool) and kinds and kinds <= {dt.date, type(None)}:
            yield keys, f"must be a date written YYYY-MM-DD (got {data!r})"


def _leaf_types(keys: list) -> set:
    """The plain types (int, float, bool, date, ...) a scenario field at ``keys`` accepts."""
    from pydantic import BaseModel

    def flat(tp) -> list:
        args = typing.get_args(tp)
        return [x for a in args for x in flat(a)] if args else [tp]

    current: list = [Scenario]
    for key in keys:
        nxt: list = []
        for tp in current:
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                if isinstance(key, int):
                    continue
                for name, f in tp.model_fields.items():
                    if key in (name, f.alias):
                        nxt.append(f.annotation)
            else:
                origin = typing.get_origin(tp)
                args = typing.get_args(tp)
                if origin in (list, tuple) and isinstance(key, int):
                    nxt += args[:1]
                elif origin is dict and args:
                    nxt.append(args[1])
                elif args:  # Union, Annotated, Optional: look inside
                    inner = [a for a in args if not isinstance(a, str)]
                    current += inner  # noqa: B909 - expanded in place on purpose
        current = [t for tp in nxt for t in _unwrap(tp)]
    return {t for t in current if isinstance(t, type) and not issubclass(t, BaseModel)} if current else set()


def _unwrap(tp) -> list:
    """Union/Optional/Annotated members of a type (lists and dicts kept as they are)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for a in typing.get_args(tp) for t in _unwrap(a)]
    return [tp]


def _fields_at(keys: list) -> list[str]:
    """Field names (aliases) of the scenario model at ``keys`` (for "did you mean")."""
    from pydantic import BaseModel

    def models(tp) -> list:
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            return [tp]
        return [m for a in typing.get_args(tp) for m in models(a)]

    current = [Scenario]
    for key in keys:
        if isinstance(key, int):
            continue
        nxt = []
        for m in current:
            for name, f in m.model_fields.items():
                if key in (name, f.alias):
                    nxt += models(f.annotation)
        current = nxt
    return sorted({f.alias or n for m in current for n, f in m.model_fields.items()})
