"""Messages between the grader and a worker: plain values and arrays, never pickles.

A frame is an 8-byte length and a payload; the payload is a 4-byte header length, a JSON
header and the arrays it refers to, each in .npy format. Decoding never runs code
(`allow_pickle=False`), checks every size, and so is safe on bytes from student code.
"""

from __future__ import annotations

import io
import json
import select
import socket
import struct
import time
from typing import Any

import numpy as np

ARRAY_KEY = "__array__"
MAX_FRAME = 256 * 1024 * 1024


class ProtocolError(Exception):
    """The other side sent something that is not a message, or went away."""


def encode(message: dict[str, Any]) -> bytes:
    """A message (dicts, lists, str, int, float, bool, None, numpy arrays) as a frame."""
    blobs: list[bytes] = []
    header = json.dumps(_flatten(message, blobs)).encode()
    payload = b"".join([struct.pack(">I", len(header)), header, *blobs])
    return struct.pack(">Q", len(payload)) + payload


def decode(payload: bytes) -> dict[str, Any]:
    """The message in a frame's payload; ProtocolError if it is malformed."""
    try:
        (size,) = struct.unpack_from(">I", payload)
        header = json.loads(payload[4 : 4 + size])
        blob = memoryview(payload)[4 + size :]
        message = _restore(header, blob)
    except (ValueError, TypeError, KeyError, IndexError, struct.error, RecursionError) as e:
        raise ProtocolError(f"malformed message ({type(e).__name__}: {e})") from e
    if not isinstance(message, dict):
        raise ProtocolError("malformed message (not a mapping)")
    return message


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(encode(message))


def receive(sock: socket.socket, deadline: float | None = None, limit: int = MAX_FRAME) -> dict[str, Any]:
    """Read one message; TimeoutError after `deadline` (a time.monotonic() value)."""
    (size,) = struct.unpack(">Q", _read(sock, 8, deadline))
    if size > limit:
        raise ProtocolError(f"message of {size} bytes is over the {limit}-byte limit")
    return decode(_read(sock, size, deadline))


def _read(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([sock], [], [], left)[0]:
                raise TimeoutError
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("the connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _flatten(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        blobs.append(buffer.getvalue())
        return {ARRAY_KEY: len(blobs[-1])}
    if isinstance(value, dict):
        return {str(k): _flatten(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, blobs) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _restore(value: Any, blob: memoryview, cursor: list[int] | None = None) -> Any:
    cursor = cursor if cursor is not None else [0]
    if isinstance(value, dict):
        if set(value) == {ARRAY_KEY}:
            start, size = cursor[0], int(value[ARRAY_KEY])
            if size < 0 or start + size > len(blob):
                raise ValueError("array reference past the end of the message")
            cursor[0] += size
            return np.load(io.BytesIO(blob[start : start + size]), allow_pickle=False)
        return {k: _restore(v, blob, cursor) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, blob, cursor) for v in value]
    return value
