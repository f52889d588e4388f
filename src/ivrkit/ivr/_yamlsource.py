"""Menu YAML from bytes or text to a node tree, within limits, or a problem with its line.

The loader walks nodes, so this module is the one place that turns a file into nodes, and
the one place that says no to input too big to check quickly (docs/menus.md "Limits"):

- a file is at most ``MAX_FILE_BYTES`` (1 MiB; a large hand-written menu is a few KB);
- nodes nest at most ``MAX_DEPTH`` levels (PyYAML's composer recurses once per level, so
  a file nested 1,000 lists deep would otherwise end in RecursionError);
- text is UTF-8 (a bad byte is reported with its line) and YAML errors keep their line,
  including the reader's "unacceptable character", which knows only its offset.

The alias budget (aliases repeat what they point at, so a 14 KB file can stand for 27
million values) is counted by the loader's walk, which is what aliases make expensive.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ivrkit.ivr._exceptions import MenuDefinitionError, MenuProblem

MAX_FILE_BYTES = 1024 * 1024
"""The largest menu file accepted, in bytes (of UTF-8 text)."""
MAX_DEPTH = 64
"""How deep mappings and lists may nest (a menu file needs about 8 levels)."""


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("too deep")
        self.mark = mark


class _Loader(yaml.SafeLoader):
    """SafeLoader whose composer refuses to nest deeper than MAX_DEPTH."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_menu_text(path: str | Path) -> str:
    """The text of the menu file at ``path``; MenuDefinitionError if it cannot be used."""
    source = str(path)
    try:
        with Path(path).open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _error(source, f"failed to read: {reason}", None) from exc
    if len(data) > MAX_FILE_BYTES:
        raise _error(source, _too_big(), None)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start]
        raise _error(
            source, f"failed to read: not UTF-8 text (byte 0x{byte:02x}; save as UTF-8)", line
        ) from exc


def compose_menu_yaml(text: str, source: str) -> yaml.Node | None:
    """The node tree of ``text`` (None when empty); MenuDefinitionError with the line."""
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise _error(source, _too_big(), None)
    try:
        return yaml.compose(text, Loader=_Loader)
    except _TooDeep as exc:
        raise _error(
            source,
            f"nested more than {MAX_DEPTH} levels deep (menu files are limited to {MAX_DEPTH})",
            exc.mark.line + 1,
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = None if mark is None else mark.line + 1
        message = f"not valid YAML: {exc.problem}" + (f" ({exc.context})" if exc.context else "")
        raise _error(source, message, line) from exc
    except yaml.reader.ReaderError as exc:
        # the reader knows only the character offset; count lines the way marks do
        line = len(("^" + text[: exc.position] + "$").splitlines())
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _error(
            source, f"not valid YAML: unacceptable character #x{char:04x}: {exc.reason}", line
        ) from exc
    except yaml.YAMLError as exc:
        raise _error(source, f"not valid YAML: {exc}", None) from exc


def _too_big() -> str:
    return f"the file is larger than {MAX_FILE_BYTES // 1024} KiB, the limit for menu files"


def _error(source: str, message: str, line: int | None) -> MenuDefinitionError:
    return MenuDefinitionError(source, [MenuProblem("", message, line, source)])


__all__ = ["MAX_DEPTH", "MAX_FILE_BYTES", "compose_menu_yaml", "read_menu_text"]
