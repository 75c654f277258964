"""Messages round-trip exactly, and bytes from a worker can never run code in the grader."""

from __future__ import annotations

import io
import pickle
import socket
import struct
import json

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from grader.protocol import ProtocolError, decode, encode, receive, send

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=20),
                    st.floats(allow_nan=False))
arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64]), hnp.array_shapes(max_dims=3, max_side=4))
values = st.recursive(st.one_of(scalars, arrays), lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)


def same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    return a == b


@given(st.dictionaries(st.text(max_size=8), values, max_size=5))
def test_any_message_round_trips(message: dict[str, object]) -> None:
    frame = encode(message)
    assert same(decode(frame[8:]), message)


def test_messages_cross_a_socket_intact() -> None:
    a, b = socket.socketpair()
    with a, b:
        send(a, {"loss": 1.5, "h": np.arange(6.0).reshape(3, 2)})
        got = receive(b, deadline=None)
    assert got["loss"] == 1.5 and got["h"].shape == (3, 2)


def test_an_object_array_is_refused_not_unpickled() -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    header = json.dumps({"x": {"__array__": len(buffer.getvalue())}}).encode()
    with pytest.raises(ProtocolError):
        decode(struct.pack(">I", len(header)) + header + buffer.getvalue())


def test_a_pickle_is_not_a_message() -> None:
    with pytest.raises(ProtocolError):
        decode(pickle.dumps({"ok": True}))


@pytest.mark.parametrize("payload", [b"", b"\x00\x00\x00\x05[1,2", b"\x00\x00\x00\x02[]",
                                     struct.pack(">I", 12) + b'{"a": {"__array__": 999}}'])
def test_malformed_payloads_are_protocol_errors(payload: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(payload)


def test_an_oversized_frame_is_refused_before_reading_it() -> None:
    a, b = socket.socketpair()
    with a, b, pytest.raises(ProtocolError, match="over the"):
        a.sendall(struct.pack(">Q", 10**12))
        receive(b, deadline=None)


def test_a_closed_connection_is_a_protocol_error() -> None:
    a, b = socket.socketpair()
    a.close()
    with b, pytest.raises(ProtocolError, match="closed"):
        receive(b, deadline=None)
