"""The one way spikefit-search reads YAML: UTF-8 only, bounded aliases, no duplicate keys, and
only finite numbers and NUL-free strings in the result.

``yaml.safe_load`` alone expands a 600-byte alias bomb into gigabytes, keeps the last of two
equal keys silently, and returns ``.nan``/``.inf`` as floats that later turn a search into an
endless loop. Every profile, search space and config goes through :func:`read_yaml` or
:func:`parse_yaml`, which raise :class:`YamlProblem` with a "rule, but got" reason that the
caller prefixes with the file (and turns into its own :class:`SpikefitError`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

MAX_NODES = 100_000
"""Most nodes a document may hold once its aliases are expanded (a profile has a few hundred)."""


class YamlProblem(ValueError):
    """A YAML text breaks a rule; ``str()`` is the reason, without the file name."""


def _expanded_size(node: Node, memo: dict[int, int]) -> int:
    key = id(node)
    if key not in memo:
        memo[key] = 1  # a node that refers to itself counts once here; composing it is refused
        if isinstance(node, SequenceNode):
            memo[key] += sum(_expanded_size(n, memo) for n in node.value)
        elif isinstance(node, MappingNode):
            memo[key] += sum(
                _expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value
            )
    return memo[key]


class _SafeLoader(yaml.SafeLoader):
    """SafeLoader that counts nodes as aliases expand them and refuses duplicate keys."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._nodes = 0
        self._sizes: dict[int, int] = {}
        self._open: set[str] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        anchor = getattr(event, "anchor", None)
        if isinstance(event, yaml.AliasEvent):
            if anchor in self._open:
                raise YamlProblem(
                    f"must not hold an alias inside its own anchor, but *{anchor} is{_line(event)}."
                )
            target = self.anchors.get(anchor)
            if target is not None:
                self._count(_expanded_size(target, self._sizes), event)
            return super().compose_node(parent, index)
        self._count(1, event)
        if anchor is not None:
            self._open.add(anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self._open.discard(anchor)

    def _count(self, n: int, event: Any) -> None:
        self._nodes += n
        if self._nodes > MAX_NODES:
            raise YamlProblem(
                f"must expand to at most {MAX_NODES:,} YAML nodes, but its aliases expand to "
                f"more{_line(event)}."
            )

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise YamlProblem(
                    f"must not repeat a key in one mapping, but {key!r} appears twice "
                    f"(line {key_node.start_mark.line + 1})."
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _line(event: Any) -> str:
    mark = getattr(event, "start_mark", None)
    return f" (line {mark.line + 1})" if mark is not None else ""


def _check_values(value: Any, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise YamlProblem(f"{where or 'the document'} must be a finite number, but got {value}.")
    if isinstance(value, str) and "\x00" in value:
        raise YamlProblem(f"{where or 'the document'} must not contain a NUL character.")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_values(k, where)
            _check_values(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(v, f"{where}[{i}]")


def parse_yaml(text: str) -> Any:
    """Parse one YAML document under the rules above.

    Raises:
        YamlProblem: not valid YAML, an alias bomb, a duplicate key, a non-finite number or a
            NUL in a string (the reason names the line or the key path).
    """
    loader = _SafeLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        reason = f"must be valid YAML, but has a syntax error{where}: {problem}."
        raise YamlProblem(reason) from None
    except RecursionError:
        raise YamlProblem("must nest at most a few hundred levels deep, but nests more.") from None
    finally:
        loader.dispose()
    _check_values(data, "")
    return data


def decode_utf8(raw: bytes) -> str:
    """``raw`` as UTF-8 text, or a :class:`YamlProblem` naming the first bad byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise YamlProblem(
            f"must be UTF-8 text, but byte 0x{raw[exc.start]:02x} on line {line} is not "
            "(save the file as UTF-8)."
        ) from None


def read_yaml(path: str | Path) -> Any:
    """Read and parse the YAML file at ``path`` (UTF-8) under the rules of :func:`parse_yaml`.

    Raises:
        OSError: the file cannot be read.
        YamlProblem: see :func:`parse_yaml`; also a file that is not UTF-8.
    """
    return parse_yaml(decode_utf8(Path(path).read_bytes()))
