#!/usr/bin/env python3
"""Reads a shm region from Python, with no Rust source: the region's header
says where the payload and the embedded schema are, and the schema (JSON)
names every field with its type and offset.

    python3 examples/inspect.py /tmp/suchfoo          # a file-backed region
    python3 examples/inspect.py /dev/shm/such_foo     # a POSIX shm region

Prints the type and one line per scalar: `path type offset value`. Reads are
plain (Python has no atomics), so a value written concurrently may be seen
torn: this is a viewer, not a reader to build on.
"""

import json
import struct
import sys

MAGIC = b"SHMSTATE"
HEADER = struct.Struct("<8sIIII8Q")  # magic, version, header len, state, flags, 8 x u64
READY = 2
FORMATS = {"u8": "B", "u16": "H", "u32": "I", "u64": "Q", "usize": "Q",
           "i8": "b", "i16": "h", "i32": "i", "i64": "q", "isize": "q",
           "f32": "f", "f64": "d"}


def scalars(prefix, ty, offset):
    """Yields (path, scalar type, offset) for every scalar of `ty`."""
    if isinstance(ty, str):
        yield prefix, ty, offset
    elif "array" in ty:
        element, size = ty["array"], type_size(ty["array"])
        for i in range(ty["len"]):
            yield from scalars(f"{prefix}[{i}]", element, offset + i * size)
    else:
        for field in ty["fields"]:
            name = f"{prefix}.{field['name']}" if prefix else field["name"]
            yield from scalars(name, field["type"], offset + field["offset"])


def type_size(ty):
    if isinstance(ty, str):
        return struct.calcsize("<" + FORMATS[ty])
    if "array" in ty:
        return type_size(ty["array"]) * ty["len"]
    return ty["size"]


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER.size or data[:8] != MAGIC:
        sys.exit(f"{path}: not a shm region (no {MAGIC.decode()} magic)")
    (_, version, _, state, _, fingerprint, payload_offset, payload_size, _,
     _, _, schema_offset, schema_len) = HEADER.unpack_from(data)
    if version != 2 or state != READY:
        sys.exit(f"{path}: format {version}, state {state}: expected format 2, state {READY}")
    if len(data) < schema_offset + schema_len:
        sys.exit(f"{path}: truncated: {len(data)} bytes, schema ends at {schema_offset + schema_len}")
    schema = json.loads(data[schema_offset:schema_offset + schema_len])
    print(f"{schema['type']}: {payload_size} bytes, fingerprint {fingerprint:#018x}")
    for name, ty, offset in scalars("", schema, 0):
        (value,) = struct.unpack_from("<" + FORMATS[ty], data, payload_offset + offset)
        print(f"{name} {ty} {offset} {value}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
