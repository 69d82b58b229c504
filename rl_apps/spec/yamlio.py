"""Bounded YAML reading for specs: safe tags only, no aliases, no duplicate keys.

``yaml.safe_load`` alone runs no code but trusts the input's size and shape: a 1 KB
"billion laughs" alias bomb expands to a billion nodes, deep nesting ends in a RecursionError
and a repeated key silently replaces the first. ``SpecLoader`` is ``yaml.SafeLoader`` that
refuses aliases (``*name``; anchors alone are harmless), refuses a key given twice in one
mapping, and stops composing at ``MAX_DEPTH`` levels or ``MAX_NODES`` nodes; these errors
name the dotted path where they happened. ``read_text``
reads at most ``MAX_SPEC_BYTES`` and requires UTF-8. Errors are ``yaml.MarkedYAMLError``
with the line and column, never the offending text (it may be a credential).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from rl_apps.spec.limits import MAX_DEPTH, MAX_NODES, MAX_SPEC_BYTES
from rl_apps.spec.secrets import secret_env_values, value_kind


class SpecLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` with the bounds of the module docstring; errors carry the path."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._path: list[str] = []
        self._nodes = 0

    def _refuse(self, problem: str, mark: Any) -> ComposerError:
        err = ComposerError(None, None, problem, mark)
        err.spec_path = ".".join(self._path)  # type: ignore[attr-defined]
        return err

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Refuses aliases; bounds nodes and depth; refuses duplicate keys of a mapping."""
        is_key = isinstance(parent, yaml.MappingNode) and index is None
        part = index.value if isinstance(index, yaml.ScalarNode) else index
        self._path.append(str(part)[:80] if part is not None else "")
        try:
            mark = self.peek_event().start_mark
            if self.check_event(yaml.AliasEvent):
                raise self._refuse("YAML aliases (*name) are not allowed in a spec", mark)
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise self._refuse(f"a spec holds at most {MAX_NODES:_} values", mark)
            if len(self._path) > MAX_DEPTH:
                raise self._refuse(f"a spec nests at most {MAX_DEPTH} levels", mark)
            node = super().compose_node(parent, index)
            if isinstance(node, yaml.MappingNode) and not is_key:
                self._check_duplicates(node)
            return node
        finally:
            self._path.pop()

    def _check_duplicates(self, node: yaml.MappingNode) -> None:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in seen:
                    self._path.append(key_node.value[:80])
                    raise self._refuse("key appears twice in one mapping", key_node.start_mark)
                seen.add(key)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Refuses keys that are equal once constructed (``1`` and ``0x1``)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable: SafeConstructor reports it
            if duplicate:
                raise ConstructorError(
                    None, None, "key appears twice in one mapping", key_node.start_mark
                )
        return super().construct_mapping(node, deep=deep)


def loads(text: str) -> Any:
    """Parses one YAML document with ``SpecLoader``."""
    loader = SpecLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """The file's text; ValueError if it is larger than MAX_SPEC_BYTES or not UTF-8."""
    with path.open("rb") as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    if len(data) > MAX_SPEC_BYTES:
        raise ValueError(f"larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a short text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"not UTF-8 text (byte {err.start})") from None


def describe(err: yaml.YAMLError) -> tuple[str, str]:
    """``(dotted path or "", "invalid YAML: line L, column C: problem")``; no input quoted."""
    if isinstance(err, yaml.reader.ReaderError):
        return "", f"invalid YAML: character {err.position}: {err.reason}"
    mark = getattr(err, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(err, "problem", None) or type(err).__name__
    if value_kind(
        problem, secret_env_values()
    ):  # PyYAML quotes tags and tokens; never a credential
        problem = "invalid text (it looks like a credential; not shown)"
    return getattr(err, "spec_path", "").strip("."), f"invalid YAML: {where}{problem}"
