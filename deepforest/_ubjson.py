"""A strict reader of the UBJSON documents XGBoost serialises its boosters to.

XGBoost parses a booster's bytes as it rebuilds it and crashed the process (signal 11) on a
model whose bytes a fuzzer had flipped, before anything could look at the trees. The bytes are
read here first, in Python, where a malformed document is an exception: every length is
checked against the bytes that remain, nesting is bounded, and nothing may follow the document.
Only the subset XGBoost writes is accepted (Universal Binary JSON, draft 12: big-endian
numbers, strongly typed arrays with a count).
"""

from __future__ import annotations

import struct

import numpy as np

# XGBoost's documents nest about eight containers deep.
MAX_DEPTH = 32

# Struct formats (numpy reads the same codes) of the number markers.
_NUMBERS = {b"i": ">b", b"U": ">B", b"I": ">h", b"l": ">i", b"L": ">q", b"d": ">f", b"D": ">d"}
_CONSTANTS = {b"T": True, b"F": False, b"Z": None}


class UBJSONError(ValueError):
    """The bytes are not a well-formed UBJSON document."""


def loads(data: bytes | bytearray) -> object:
    """The value of the UBJSON document ``data``: dicts, lists, str, int, float, bool, None
    and numpy arrays (typed arrays of numbers).

    Raises
    ------
    UBJSONError
        If the document is malformed, truncated, nested deeper than ``MAX_DEPTH``, or followed
        by more bytes.
    """
    reader = _Reader(memoryview(bytes(data)))
    value = reader.value(reader.marker(), 0)
    if reader.position != len(reader.data):
        raise UBJSONError(f"{len(reader.data) - reader.position} bytes follow the document")
    return value


class _Reader:
    def __init__(self, data: memoryview):
        self.data = data
        self.position = 0

    def take(self, size: int) -> memoryview:
        if size < 0 or self.position + size > len(self.data):
            raise UBJSONError(f"the document ends before byte {self.position + size}")
        chunk = self.data[self.position : self.position + size]
        self.position += size
        return chunk

    def marker(self) -> bytes:
        return bytes(self.take(1))

    def number(self, marker: bytes):
        layout = _NUMBERS[marker]
        return struct.unpack(layout, self.take(struct.calcsize(layout)))[0]

    def count(self, marker: bytes | None = None) -> int:
        marker = self.marker() if marker is None else marker
        if marker not in _NUMBERS or marker in (b"d", b"D"):
            raise UBJSONError(f"a length has the type {marker!r}, not an integer")
        count = self.number(marker)
        if count < 0 or count > len(self.data) - self.position + 1:
            # Every element takes at least one byte, so no honest count exceeds what remains.
            raise UBJSONError(f"a length of {count} at byte {self.position}")
        return count

    def text(self) -> str:
        try:
            return str(self.take(self.count()), "utf-8")
        except UnicodeDecodeError:
            raise UBJSONError(f"text that is not UTF-8 before byte {self.position}") from None

    def value(self, marker: bytes, depth: int):
        if marker in _NUMBERS:
            return self.number(marker)
        if marker in _CONSTANTS:
            return _CONSTANTS[marker]
        if marker == b"S":
            return self.text()
        if marker == b"C":
            return chr(self.number(b"U"))
        if depth >= MAX_DEPTH:
            raise UBJSONError(f"containers nested deeper than {MAX_DEPTH}")
        if marker == b"[":
            return self.array(depth + 1)
        if marker == b"{":
            return self.object(depth + 1)
        raise UBJSONError(f"an unknown marker {marker!r} at byte {self.position - 1}")

    def array(self, depth: int):
        marker = self.marker()
        if marker == b"$":  # a typed array: $ type # count, then the values without markers
            kind = self.marker()
            if self.marker() != b"#":
                raise UBJSONError("a typed array without a count")
            if kind not in _NUMBERS:
                raise UBJSONError(f"a typed array of {kind!r}, which XGBoost does not write")
            dtype = np.dtype(_NUMBERS[kind])
            n = self.count()
            raw = self.take(n * dtype.itemsize)
            return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))
        if marker == b"#":
            return [self.value(self.marker(), depth) for _ in range(self.count())]
        items = []
        while marker != b"]":
            items.append(self.value(marker, depth))
            marker = self.marker()
        return items

    def object(self, depth: int) -> dict:
        result: dict = {}
        marker = self.marker()
        counted = None
        if marker == b"#":
            counted = self.count()
        elif marker in (b"$",):
            raise UBJSONError("a typed object, which XGBoost does not write")
        while True:
            if counted is not None:
                if len(result) == counted:
                    return result
                key = self.text()
            else:
                if marker == b"}":
                    return result
                self.position -= 1  # the marker was the key's length type
                key = self.text()
            if key in result:
                raise UBJSONError(f"the key {key!r} twice in one object")
            result[key] = self.value(self.marker(), depth)
            if counted is None:
                marker = self.marker()
