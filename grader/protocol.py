"""Messages between the grader and a worker: plain values and arrays, never pickles.

A frame is an 8-byte length and a payload; the payload is a 4-byte header length, a JSON
header and the arrays it refers to, each in .npy format. Decoding never runs code, reads
each array's header itself and checks its dtype and shape against the bytes actually sent
before allocating anything, and so is safe on bytes from student code.
"""

from __future__ import annotations

import ast
import io
import json
import math
import re
import select
import socket
import struct
import time
from typing import Any

import numpy as np
from numpy.lib import format as npy

ARRAY_KEY = "__array__"
MAX_FRAME = 256 * 1024 * 1024
MAX_NPY_HEADER = 4096
MAX_DIMS = 32
TOKEN_BYTES = 64
"""What a spawned worker sends first on its connection (grader.sandbox.process): its token, 32 random
bytes in hex."""
NPY_LENGTHS = {(1, 0): "<H", (2, 0): "<I"}
"""The .npy versions numpy writes for plain arrays, and the size of their header length."""
DTYPES: dict[str, np.dtype[Any]] = {str(npy.dtype_to_descr(np.dtype(t))): np.dtype(t) for t in (
    np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64,
    np.float16, np.float32, np.float64, np.complex64, np.complex128)}
"""The only array types a message may hold, by their .npy descr in this machine's byte order."""
DESCRS = {dtype: descr for descr, dtype in DTYPES.items()}
MAGIC_1_0 = npy.magic(1, 0)
PLAIN_HEADER = re.compile(r"\{'descr': '([<>|][a-z]\d{1,2})', 'fortran_order': (False|True), "
                          r"'shape': \(((?:\d{1,12}, )*(?:\d{1,12},?)?)\), \} *\n")
"""The header numpy writes for a plain array, read without a Python parser (others go through
ast.literal_eval, which is slower and just as strict)."""


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
        cursor = [0]
        message = _restore(header, blob, cursor)
        if cursor[0] != len(blob):
            raise ValueError(f"{len(blob) - cursor[0]} bytes after the last array")
    except (ValueError, TypeError, KeyError, IndexError, struct.error, RecursionError) as e:
        raise ProtocolError(f"malformed message: {e}") from e
    if not isinstance(message, dict):
        raise ProtocolError("malformed message: not a mapping")
    return message


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    sock.sendall(encode(message))


def receive(sock: socket.socket, deadline: float | None = None, limit: int = MAX_FRAME) -> dict[str, Any]:
    """Read one message; TimeoutError after `deadline` (a time.monotonic() value)."""
    (size,) = struct.unpack(">Q", _read(sock, 8, deadline))
    if size > limit:
        raise ProtocolError(f"message of {size} bytes is over the {limit}-byte limit")
    return decode(_read(sock, size, deadline))


def readable(sock: socket.socket, deadline: float) -> bool:
    """Whether `sock` has something to read (or has closed) before `deadline` (time.monotonic())."""
    left = deadline - time.monotonic()
    return left > 0 and bool(select.select([sock], [], [], left)[0])


def _read(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks: list[bytes] = []
    while n:
        if deadline is not None and not readable(sock, deadline):
            raise TimeoutError
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise ProtocolError("the connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _flatten(value: Any, blobs: list[bytes]) -> Any:
    if isinstance(value, np.ndarray):
        blobs.append(_npy(value))
        return {ARRAY_KEY: len(blobs[-1])}
    if isinstance(value, dict):
        return {str(k): _flatten(v, blobs) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_flatten(v, blobs) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _npy(array: np.ndarray[Any, np.dtype[Any]]) -> bytes:
    """An array in .npy format 1.0, as np.save writes it (which still serves the types a message
    may not hold, and refuses objects)."""
    descr = DESCRS.get(array.dtype)
    if descr is None:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return buffer.getvalue()
    fortran = array.flags.f_contiguous and not array.flags.c_contiguous
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {array.shape!r}, }}"
    header += " " * (-(len(MAGIC_1_0) + 2 + len(header) + 1) % 64) + "\n"
    return b"".join([MAGIC_1_0, struct.pack("<H", len(header)), header.encode("latin-1"),
                     array.tobytes(order="F" if fortran else "C")])


def _restore(value: Any, blob: memoryview, cursor: list[int]) -> Any:
    if isinstance(value, dict):
        if set(value) == {ARRAY_KEY}:
            start, size = cursor[0], value[ARRAY_KEY]
            if type(size) is not int or size < 0 or start + size > len(blob):
                raise ValueError(f"array reference {size!r} is not a size within the message")
            cursor[0] += size
            return _array(blob[start : start + size])
        return {k: _restore(v, blob, cursor) for k, v in value.items()}
    if isinstance(value, list):
        return [_restore(v, blob, cursor) for v in value]
    return value


def _array(blob: memoryview) -> np.ndarray[Any, np.dtype[Any]]:
    """A .npy blob as an array that owns its memory; nothing is allocated before its size is checked."""
    shape, fortran, dtype, offset = _npy_header(blob)
    data = blob[offset:]
    count = math.prod(shape)
    if count * dtype.itemsize != len(data):
        raise ValueError(f"an array header claims shape {shape} of {dtype} ({count * dtype.itemsize} bytes), "
                         f"but {len(data)} bytes follow")
    flat = np.frombuffer(data, dtype=dtype, count=count)
    if dtype.kind == "b":
        flat = flat.view(np.uint8) != 0  # a bool byte other than 0 or 1 would make numpy's logic inconsistent
    return flat.reshape(shape, order="F" if fortran else "C").copy(order="K")


def _npy_header(blob: memoryview) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """Shape, Fortran order, dtype and data offset of a .npy blob, each checked."""
    stream = io.BytesIO(blob[: MAX_NPY_HEADER + 16])
    version = npy.read_magic(stream)
    if version not in NPY_LENGTHS:
        raise ValueError(f"an array in .npy version {version[0]}.{version[1]}, not 1.0 or 2.0")
    length_format = NPY_LENGTHS[version]
    (length,) = struct.unpack(length_format, stream.read(struct.calcsize(length_format)))
    text = stream.read(length)
    if length > MAX_NPY_HEADER or len(text) != length:
        raise ValueError(f"an array header of {length} bytes, cut short or over {MAX_NPY_HEADER}")
    shape, fortran, dtype = _npy_fields(_fields(text.decode("latin-1")))
    return shape, fortran, dtype, stream.tell()


def _fields(text: str) -> Any:
    plain = PLAIN_HEADER.fullmatch(text)
    if plain is None:
        return _literal(text)
    descr, fortran, shape = plain.groups()
    return {"descr": descr, "fortran_order": fortran == "True",
            "shape": tuple(int(n) for n in shape.replace(",", " ").split())}


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (SyntaxError, MemoryError) as e:
        raise ValueError(f"an array header is not a Python literal: {text[:80]!r}") from e


def _npy_fields(fields: Any) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"an array header is not a .npy header: {str(fields)[:80]}")
    descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
    if not isinstance(descr, str) or descr not in DTYPES:
        raise ValueError(f"arrays of dtype {str(descr)[:40]!r} are not accepted")
    if not isinstance(fortran, bool):
        raise ValueError(f"an array header's fortran_order is {str(fortran)[:40]}, not a bool")
    if (not isinstance(shape, tuple) or len(shape) > MAX_DIMS
            or not all(type(n) is int and 0 <= n <= MAX_FRAME for n in shape)):
        raise ValueError(f"an array header's shape {str(shape)[:80]} is not a shape")
    return shape, fortran, DTYPES[descr]
