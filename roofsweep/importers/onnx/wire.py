"""Parse an ONNX file without reading its weights (torch-free, no dependencies).

``onnx.load`` reads the whole file into a ``bytes`` object and parses it into protobuf messages:
every weight is held twice at the peak (the file's bytes, then the parsed initializers). Here the
file is memory-mapped and walked at the protobuf wire level; each large ``raw_data`` field of a
graph initializer is skipped by its length - its pages are never touched - and everything else
(nodes, shapes, small constants) is copied into a compact message that ``onnx`` then parses.
The initializers keep their ``dims`` and ``data_type``, which is all the importer needs.

Only ``ModelProto.graph (7) -> GraphProto.initializer (5) -> TensorProto.raw_data (9)`` is
descended into; any malformed or cut-off field raises ``ValueError``.
"""

from __future__ import annotations

import mmap

RAW_KEEP_BYTES = 8 * 4096  # raw_data up to this size is kept (small constants are read as values)
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise ValueError("a varint runs past the end of its message")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("a varint is longer than 10 bytes")


def _encode_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def _fields(buf, pos: int, end: int):
    """Yield (field number, wire type, field start, payload start, field end)."""
    while pos < end:
        start = pos
        key, pos = _varint(buf, pos, end)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, stop = _varint(buf, pos, end)
            payload = pos
        elif wire == 1:
            payload, stop = pos, pos + 8
        elif wire == 2:
            length, payload = _varint(buf, pos, end)
            stop = payload + length
        elif wire == 5:
            payload, stop = pos, pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if stop > end:
            raise ValueError("a field runs past the end of its message (truncated file?)")
        yield field, wire, start, payload, stop
        pos = stop


def _strip(buf, pos: int, end: int, path: tuple[int, ...]) -> bytes:
    """The message in ``buf[pos:end]`` with large raw_data fields at ``path`` dropped."""
    out = bytearray()
    for field, wire, start, payload, stop in _fields(buf, pos, end):
        if wire == 2 and path and field == path[0]:
            if len(path) == 1:  # the raw_data field itself
                if stop - payload > RAW_KEEP_BYTES:
                    continue
                out += buf[start:stop]
                continue
            inner = _strip(buf, payload, stop, path[1:])
            out += _encode_varint((field << 3) | 2) + _encode_varint(len(inner)) + inner
        else:
            out += buf[start:stop]
    return bytes(out)


def read_model_bytes(path: str) -> bytes:
    """The serialized ModelProto of ``path`` without its large initializer payloads."""
    with open(path, "rb") as f:
        if f.seek(0, 2) == 0:
            raise ValueError("the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _strip(mm, 0, len(mm), (_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA))


def input_shapes(path: str) -> list[tuple[str, tuple]]:
    """The graph inputs (initializers excluded) and their declared dims, a dim_param as its
    name - read from the wire without parsing the rest of the model (for naming a model before
    it is imported)."""
    import onnx

    with open(path, "rb") as f:
        if f.seek(0, 2) == 0:
            raise ValueError("the file is empty")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            inputs, inits = [], set()
            for field, wire, _, payload, stop in _fields(mm, 0, len(mm)):
                if field != _MODEL_GRAPH or wire != 2:
                    continue
                for gf, gw, _, gp, gs in _fields(mm, payload, stop):
                    if gf == 11 and gw == 2:  # GraphProto.input
                        inputs.append(onnx.ValueInfoProto.FromString(bytes(mm[gp:gs])))
                    elif gf == _GRAPH_INITIALIZER and gw == 2:
                        for tf, tw, _, tp, ts in _fields(mm, gp, gs):
                            if tf == 8 and tw == 2:  # TensorProto.name
                                inits.add(bytes(mm[tp:ts]).decode(errors="replace"))
    out = []
    for vi in inputs:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        out.append((vi.name, tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims)))
    return out
