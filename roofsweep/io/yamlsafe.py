"""The one safe YAML reader of roofsweep (hardware profiles and experiment configs).

``read_yaml_file(path, limits)`` / ``read_yaml_text(text, label, limits)`` return the parsed
document and the line of every field path (``"peak_macs_per_s.int8"``, ``"models[0].width"``),
or raise ``YamlInputError`` - a ``RoofsweepError`` that carries ``field``, ``reason`` and
``line`` so each caller words it as its own error class (``ProfileError``, ``ConfigError``).

What is refused, before any Python object is built:

* files that are not regular files (directories, FIFOs, devices), larger than ``max_bytes``, or
  not UTF-8;
* control characters (anything YAML does not allow, e.g. BEL, ESC, NUL) - with line and column;
* documents nested deeper than ``max_depth`` collections, with more than ``max_nodes`` nodes
  counting every alias expansion again (alias bombs), or more than ``max_aliases`` aliases;
* duplicate keys in a mapping (YAML would keep the last one, silently);
* every tag outside the YAML core schema (``!!python/object`` ...): the safe loader only.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from roofsweep.errors import RoofsweepError, quote

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE_TAG = "tag:yaml.org,2002:merge"
# What the YAML reader refuses (YAML 1.1 printable set): C0 controls except TAB/LF/CR, DEL,
# C1 controls except NEL, surrogates and the two non-characters.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class YamlLimits:
    """What one kind of document may be. ``what`` names it in messages ("hardware profile")."""

    what: str
    max_bytes: int = 1 << 20
    max_depth: int = 8  # nesting of mappings/sequences; the top-level mapping is depth 1
    max_nodes: int = 10_000  # YAML nodes, counting each alias expansion again
    max_aliases: int = 1_000
    empty_hint: str = "expected a mapping"
    noun: str = "file"  # "expected a .yaml <noun>"


class YamlInputError(RoofsweepError):
    """``<label>: <field>: <reason>``; ``field`` is ``file``, ``document`` or ``line N``."""

    def __init__(self, label: str, field: str, reason: str, line: int | None = None) -> None:
        self.label, self.field, self.reason, self.line = label, field, reason, line
        super().__init__(f"{label}: {field}: {reason}")


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_graph(root: yaml.Node, limits: YamlLimits, label: str) -> None:
    """Walk the node graph as construction would expand it (aliases are shared nodes, so they
    are visited again): refuse deep nesting, huge expansions, many aliases and duplicate keys."""
    count, aliases, seen_ids = 0, 0, set()
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        aliases += id(node) in seen_ids
        if count > limits.max_nodes:
            raise YamlInputError(label, "document", f"more than {limits.max_nodes:,} YAML nodes "
                                 "(counting alias expansions); refused")
        if isinstance(node, yaml.ScalarNode):
            continue
        seen_ids.add(id(node))
        if depth > limits.max_depth:
            raise YamlInputError(label, f"line {_line(node)}", f"nested deeper than {limits.max_depth} "
                                 f"levels; a {limits.what} is flatter than that", _line(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in reversed(node.value))
            continue
        keys: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE_TAG:
                if key.value in keys:
                    raise YamlInputError(label, f"line {_line(key)}", f"duplicate key {quote(key.value)} "
                                         f"(first at line {keys[key.value]})", _line(key))
                keys[key.value] = _line(key)
            stack += [(value, depth + 1), (key, depth + 1)]
    if aliases > limits.max_aliases:  # after the walk, so an alias bomb is named as one
        raise YamlInputError(label, "document", f"more than {limits.max_aliases:,} YAML aliases; refused")


def _field_lines(root: yaml.Node) -> dict[str, int]:
    """Line of every field path below the root: ``a``, ``a.b``, ``a[0]``, ``a[0].b``..."""
    lines: dict[str, int] = {}
    stack: list[tuple[str, yaml.Node]] = [("", root)]
    while stack and len(lines) < 100_000:
        prefix, node = stack.pop()
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    path = f"{prefix}.{key.value}" if prefix else key.value
                    lines.setdefault(path, _line(key))
                    stack.append((path, value))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                path = f"{prefix}[{i}]"
                lines.setdefault(path, _line(item))
                stack.append((path, item))
    return lines


def _yaml_error(label: str, exc: yaml.YAMLError) -> YamlInputError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or [type(exc).__name__])[0]
    context = getattr(exc, "context", None)
    reason = f"{context}: {problem}" if context else str(problem)
    syntax = isinstance(exc, (yaml.scanner.ScannerError, yaml.parser.ParserError))
    what = "YAML syntax" if syntax else "YAML"
    if mark is not None:
        line = mark.line + 1
        return YamlInputError(label, f"line {line}", f"{what}: {reason} (column {mark.column + 1})", line)
    return YamlInputError(label, "document", f"{what}: {reason}")


def _refuse_control_characters(text: str, label: str) -> None:
    m = _FORBIDDEN.search(text)
    if m is None:
        return
    line = text.count("\n", 0, m.start()) + 1
    column = m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    raise YamlInputError(label, f"line {line}", f"control character U+{ord(m.group()):04X} is not allowed in "
                         f"YAML (column {column}); remove it or write it as an escape in a double-quoted "
                         "string", line)


def read_yaml_text(text: str, label: str, limits: YamlLimits) -> tuple[Any, dict[str, int]]:
    """Parse ``text`` (named ``label`` in errors): ``(data, field lines)``; ``YamlInputError``."""
    if len(text) > limits.max_bytes or len(text.encode("utf-8", "surrogatepass")) > limits.max_bytes:
        raise YamlInputError(label, "file", f"larger than {_size(limits.max_bytes)}; a {limits.what} is a "
                             "few hundred bytes, refusing to parse it")
    _refuse_control_characters(text, label)
    loader = _Loader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.YAMLError as exc:
            raise _yaml_error(label, exc) from None
        if root is None:
            raise YamlInputError(label, "document", f"file is empty; {limits.empty_hint}")
        _check_graph(root, limits, label)
        try:
            data = loader.construct_document(root)
        except yaml.YAMLError as exc:
            raise _yaml_error(label, exc) from None
        except (TypeError, ValueError, RecursionError, OverflowError) as exc:  # unhashable keys...
            first = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise YamlInputError(label, f"line {_line(root)}", f"YAML: {first}", _line(root)) from None
        return data, _field_lines(root)
    finally:
        loader.dispose()


def _size(n: int) -> str:
    return f"{n // 2**20} MiB" if n % 2**20 == 0 else f"{n:,} bytes"


def read_text_file(path: str | os.PathLike, label: str, limits: YamlLimits) -> str:
    """The UTF-8 text of a regular file of at most ``limits.max_bytes``; ``YamlInputError``."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise YamlInputError(label, "file", "not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise YamlInputError(label, "file", f"cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        what = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise YamlInputError(label, "file", f"is {what}; expected a .yaml {limits.noun}")
    too_big = YamlInputError(label, "file", f"larger than {_size(limits.max_bytes)}; a {limits.what} is "
                             "a few hundred bytes, refusing to parse it")
    if st.st_size > limits.max_bytes:
        raise too_big
    try:
        with open(path, "rb") as fh:
            raw = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise YamlInputError(label, "file", f"cannot be read ({exc.strerror or exc})") from None
    if len(raw) > limits.max_bytes:  # grew since stat
        raise too_big
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise YamlInputError(label, "file", f"not UTF-8 text (bad byte at offset {exc.start})") from None


def read_yaml_file(path: str | os.PathLike, limits: YamlLimits, label: str | None = None) -> tuple[Any, dict[str, int]]:
    """``read_text_file`` then ``read_yaml_text``; ``label`` defaults to the path as given."""
    label = os.fspath(path) if label is None else label
    return read_yaml_text(read_text_file(path, label, limits), label, limits)
