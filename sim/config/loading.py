"""Scenario files -> one validated, frozen Scenario: YAML, base: files, --set overrides."""

from __future__ import annotations

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


class _Loader(yaml.SafeLoader):
    """Safe YAML (no object construction) that leaves dates as text.

    pydantic then parses them, so an impossible date such as 2020-02-30 is reported with
    its dotted path instead of failing inside the YAML parser.
    """


def _no_duplicates(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # A key given twice is almost always an editing slip; PyYAML would keep the last.
    seen: dict = {}
    for key_node, _ in node.value:
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


def _read_yaml(path: Path) -> tuple[dict, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(path, "", "file not found") from None
    except OSError as e:
        raise ScenarioError(path, "", f"cannot read file ({e.strerror})") from None
    try:
        data = _load(text)
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ScenarioError(path, "", f"malformed YAML: {problem}", None if line is None else line + 1) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError(path, "", f"a scenario must be a mapping of keys, not {type(data).__name__}")
    return data, text


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
    path = path.resolve()
    roots = roots or (PROJECT_ROOT, path.parent)
    if path in seen:
        chain = " -> ".join(p.name for p in (*seen, path))
        raise ScenarioError(seen[-1], "base", f"scenario includes itself ({chain})")
    data, text = _read_yaml(path)
    base = data.pop("base", None)
    sources = [(path, text)]
    if base is None:
        return data, sources
    if not isinstance(base, str):
        raise ScenarioError(path, "base", "must be a path to another scenario file")
    base_path = (path.parent / base).resolve()
    line = _line_of(text, ["base"])
    if not _inside(base_path, roots):
        raise ScenarioError(path, "base", f"{base!r} is outside the project and the scenario's folder", line)
    if not base_path.is_file():
        raise ScenarioError(path, "base", f"base scenario {base!r} does not exist", line)
    base_data, base_sources = _resolve_bases(base_path, (*seen, path), roots)
    return _merge(base_data, data), sources + base_sources


def _line_of(text: str, keys: list[str | int]) -> int | None:
    """1-based line of a dotted path in YAML text, or None if the path is not there."""
    try:
        node = yaml.compose(text)
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
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        keys = _loc_to_path(err["loc"])
        dotted = ".".join(str(k) for k in keys)
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        if "input" in err and err["type"] not in ("extra_forbidden", "missing") and not isinstance(err["input"], dict | list):
            msg = f"{msg} (got {err['input']!r})"
        # Report the file that sets this path (the scenario itself before its bases).
        if dotted in (overrides or {}):
            raise ScenarioError("--set", dotted, msg) from None
        for src, text in sources:
            line = _line_of(text, keys)
            if line is not None:
                raise ScenarioError(src, dotted, msg, line) from None
        raise ScenarioError(sources[0][0] if sources else None, dotted, msg) from None
