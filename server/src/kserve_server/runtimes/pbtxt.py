"""A reader for protobuf text format, enough for Triton's `config.pbtxt` (no Triton protos here).

`name: "m"`, `dims: [ 3, -1 ]`, `input [ { name: "x" } ]`, `output { ... }`, `# comments`:
scalars stay strings, numbers or enum names; a field given twice, or as a list, becomes a list.
"""

from __future__ import annotations

import re
from typing import Any

from kserve_server.errors import ModelLoadError

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<comment>\#[^\n]*)
      | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<punct>[{}\[\]:,;<>])
      | (?P<word>[^\s{}\[\]:,;<>"'\#]+)
    )""",
    re.VERBOSE,
)
Message = dict[str, Any]


def parse(text: str, *, source: str = "config.pbtxt") -> Message:
    """The message in `text`; ModelLoadError naming `source` when it is not text format."""
    tokens = _tokenize(text, source)
    reader = _Reader(tokens, source)
    message = reader.fields(end=None)
    return message


def _tokenize(text: str, source: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            if text[position:].strip() == "":
                break
            raise ModelLoadError(f"{source}: cannot parse near {text[position : position + 30]!r}")
        position = match.end()
        kind = match.lastgroup
        if kind is None or kind == "comment":
            continue
        tokens.append((kind, match.group(kind)))
    return tokens


class _Reader:
    def __init__(self, tokens: list[tuple[str, str]], source: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.source = source

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ModelLoadError(f"{self.source}: unexpected end of file")
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value or kind != "punct":
            raise ModelLoadError(f"{self.source}: expected {value!r}, got {text!r}")

    def fields(self, *, end: str | None) -> Message:
        message: Message = {}
        while True:
            token = self.peek()
            if token is None:
                if end is not None:
                    raise ModelLoadError(f"{self.source}: missing {end!r}")
                return message
            if token == ("punct", end):
                self.take()
                return message
            if token[1] in (",", ";"):
                self.take()
                continue
            kind, name = self.take()
            if kind != "word":
                raise ModelLoadError(f"{self.source}: expected a field name, got {name!r}")
            following = self.peek()
            if following is not None and following[1] == ":":
                self.take()
            value = self.value()
            _add(message, name, value)

    def value(self) -> Any:
        kind, text = self.take()
        if kind == "punct" and text in "{<":
            return self.fields(end="}" if text == "{" else ">")
        if kind == "punct" and text == "[":
            items: list[Any] = []
            while True:
                token = self.peek()
                if token == ("punct", "]"):
                    self.take()
                    return items
                if token is not None and token[1] == ",":
                    self.take()
                    continue
                items.append(self.value())
        if kind == "string":
            return bytes(text[1:-1], "utf-8").decode("unicode_escape")
        if kind == "word":
            return _scalar(text)
        raise ModelLoadError(f"{self.source}: unexpected {text!r}")


def _scalar(text: str) -> Any:
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return {"true": True, "false": False}.get(text, text)


def _add(message: Message, name: str, value: Any) -> None:
    if name not in message:
        message[name] = value
    elif isinstance(message[name], list) and not isinstance(value, list):
        message[name].append(value)
    else:
        existing = message[name] if isinstance(message[name], list) else [message[name]]
        message[name] = existing + (value if isinstance(value, list) else [value])


def repeated(message: Message, name: str) -> list[Any]:
    """A repeated field as a list (absent: empty; given once: one item)."""
    value = message.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
