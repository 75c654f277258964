"""Messages round-trip exactly, and bytes from a worker can never run code in the grader."""

from __future__ import annotations

import io
import json
import pickle
import socket
import struct

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from grader import protocol
from grader.protocol import ProtocolError, decode, encode, receive, send

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53), st.text(max_size=20),
                    st.floats(allow_nan=False))
DTYPES = [np.float64, np.float32, np.float16, np.int64, np.int32, np.int8, np.uint8, np.bool_, np.complex128]
arrays = hnp.arrays(st.sampled_from(DTYPES), hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
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


orders = st.sampled_from(["C", "F", "strided"])


@given(arrays, orders)
def test_arrays_are_written_as_np_save_writes_them_and_read_back_by_numpy(array: np.ndarray, order: str) -> None:
    array = np.asfortranarray(array) if order == "F" else array[::2] if order == "strided" and array.ndim else array
    saved = io.BytesIO()
    np.save(saved, array, allow_pickle=False)
    frame = encode({"a": array})
    assert saved.getvalue() in frame
    assert same(np.load(io.BytesIO(saved.getvalue())), decode(frame[8:])["a"])


@given(st.lists(st.integers(0, 10**6), max_size=4).map(tuple), st.sampled_from([False, True]),
       st.sampled_from(["<f8", "|b1", "<c16", "<u2"]))
def test_headers_numpy_writes_are_read_alike_by_the_fast_reader_and_the_literal_one(
        shape: tuple[int, ...], fortran: bool, descr: str) -> None:
    text = npy(descr, shape, b"", fortran=fortran)[10:].decode("latin-1")
    assert protocol.PLAIN_HEADER.fullmatch(text)
    assert protocol._fields(text) == protocol._literal(text)


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


def npy(descr: str, shape: object, body: bytes, fortran: object = False, version: int = 1) -> bytes:
    """A .npy blob whose header says whatever it is told, followed by `body`."""
    text = f"{{'descr': {descr!r}, 'fortran_order': {fortran!r}, 'shape': {shape!r}, }}".encode()
    text += b" " * (-(len(text) + 11) % 64) + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + body


def message_of(*blobs: bytes) -> bytes:
    """A payload whose JSON header refers to each blob in turn as an array."""
    header = json.dumps({f"a{i}": {"__array__": len(b)} for i, b in enumerate(blobs)}).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def test_an_enormous_shape_is_refused_before_anything_is_allocated() -> None:
    with pytest.raises(ProtocolError, match=r"^malformed message: .*\(1000000000000,\)"):
        decode(message_of(npy("<f8", (10**12,), b"\x00" * 8)))


@pytest.mark.parametrize("shape, body", [((1,), b"\x00" * 16), ((2,), b"\x00" * 8), ((3, 0), b"\x00" * 8),
                                         ((2, -1), b"\x00" * 8), ((-1, -1), b"\x00" * 8)])
def test_a_header_that_disagrees_with_the_bytes_sent_is_refused(shape: tuple[int, ...], body: bytes) -> None:
    with pytest.raises(ProtocolError, match="^malformed message: "):
        decode(message_of(npy("<f8", shape, body)))


@pytest.mark.parametrize("descr", ["|O", "<U2", "|S8", "|V8", ">f8", "<M8[s]", "(2,)<f4", "f8, i4", "<f8 "])
def test_object_odd_and_foreign_dtypes_are_refused(descr: str) -> None:
    with pytest.raises(ProtocolError, match="^malformed message: "):
        decode(message_of(npy(descr, (1,), b"\x00" * 8)))


@pytest.mark.parametrize("header", [{"descr": "<f8", "shape": (1,)},
                                    {"descr": "<f8", "fortran_order": 0, "shape": (1,)},
                                    {"descr": "<f8", "fortran_order": False, "shape": [1]},
                                    {"descr": "<f8", "fortran_order": False, "shape": (True,)},
                                    {"descr": ["<f8"], "fortran_order": False, "shape": (1,)}])
def test_a_header_of_the_wrong_form_is_refused(header: dict[str, object]) -> None:
    text = repr(header).encode() + b"\n"
    blob = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + b"\x00" * 8
    with pytest.raises(ProtocolError, match="^malformed message: "):
        decode(message_of(blob))


def test_bytes_after_the_last_array_are_refused() -> None:
    with pytest.raises(ProtocolError, match="^malformed message: "):
        decode(message_of(npy("<f8", (1,), b"\x00" * 8)) + b"extra")


def test_a_fortran_order_array_round_trips_with_its_values_and_order() -> None:
    a = np.asfortranarray(np.arange(12.0).reshape(3, 4))
    got = decode(encode({"a": a})[8:])["a"]
    assert np.array_equal(got, a) and got.flags.f_contiguous and got.flags.owndata and got.flags.writeable


def test_an_array_read_by_hand_matches_numpys_own_reading() -> None:
    blob = npy("<i8", (2, 3), np.arange(6, dtype="<i8").tobytes(order="F"), fortran=True)
    assert np.array_equal(decode(message_of(blob))["a0"], np.load(io.BytesIO(blob)))


def test_booleans_other_than_0_and_1_are_read_as_true() -> None:
    got = decode(message_of(npy("|b1", (3,), b"\x00\x02\xff")))["a0"]
    assert got.tolist() == [False, True, True] and got.tobytes() == b"\x00\x01\x01"


def test_a_version_2_header_is_read_too() -> None:
    got = decode(message_of(npy("<f4", (2,), np.float32([1, 2]).tobytes(), version=2)))["a0"]
    assert got.tolist() == [1.0, 2.0] and got.dtype == np.float32


def test_an_array_reference_must_be_a_whole_number() -> None:
    header = b'{"a": {"__array__": Infinity}}'
    with pytest.raises(ProtocolError, match="^malformed message: "):
        decode(struct.pack(">I", len(header)) + header)


npy_headers = st.builds(npy, st.sampled_from(["<f8", "|b1", "<i8", "|O", ">f8", "<c16", "bogus", "(2,)<f4"]),
                        st.one_of(st.lists(st.one_of(st.integers(-2, 4), st.sampled_from([10**12, 2**62, 2**70])),
                                           max_size=3).map(tuple), st.text(max_size=5)),
                        st.binary(max_size=40), st.one_of(st.booleans(), st.none()), st.sampled_from([1, 2, 3]))


def referring(size: object, body: bytes) -> bytes:
    header = json.dumps({"a": {"__array__": size}}).encode()
    return struct.pack(">I", len(header)) + header + body


references = st.builds(referring, st.one_of(st.integers(-2, 100), st.floats(), st.text(max_size=3), st.booleans(),
                                            st.none()), st.binary(max_size=100))


def mutated(frame: bytes, at: list[int], byte: int) -> bytes:
    data = bytearray(frame)
    for i in at:
        if data:
            data[i % len(data)] = byte
    return bytes(data)


@given(st.one_of(st.binary(max_size=200), references,
                 st.lists(npy_headers, max_size=3).map(lambda blobs: message_of(*blobs)),
                 st.builds(mutated, st.builds(lambda m: encode(m)[8:], st.dictionaries(st.text(max_size=4), values,
                                                                                      max_size=3)),
                           st.lists(st.integers(0, 10**6), min_size=1, max_size=3), st.integers(0, 255))))
def test_no_bytes_make_decode_raise_anything_but_a_protocol_error(payload: bytes) -> None:
    try:
        message = decode(payload)
    except ProtocolError as e:
        assert str(e).startswith("malformed message")
    else:
        assert isinstance(message, dict)
