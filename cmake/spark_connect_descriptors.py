"""Writes the Spark Connect protocol of the installed pyspark as a FileDescriptorSet.

pyspark ships the protocol only as generated modules (pyspark/sql/connect/proto/*_pb2.py),
each embedding its serialized FileDescriptorProto in an AddSerializedFile(b'...') call. This
reads those bytes with `ast` (the modules are not imported: they need a newer protobuf
runtime than Debian's), and writes them as a FileDescriptorSet for
`protoc --descriptor_set_in`. Imports of google/protobuf/*.proto are listed on stdout, one
a line, so the caller can add their descriptors (from the system protoc) to the set.

usage: spark_connect_descriptors.py PYTHON_WITH_PYSPARK OUT.pb
   or: spark_connect_descriptors.py --pyspark-dir DIR OUT.pb
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def string_fields(descriptor: bytes, field: int) -> list[str]:
    """Top-level length-delimited fields number `field` of a FileDescriptorProto, as text."""
    pos, values = 0, []
    while pos < len(descriptor):
        key, pos = read_varint(descriptor, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, pos = read_varint(descriptor, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            length, pos = read_varint(descriptor, pos)
            if number == field:
                values.append(descriptor[pos:pos + length].decode())
            pos += length
        else:
            raise ValueError(f"unexpected wire type {wire} in a FileDescriptorProto")
    return values


def serialized_descriptor(module: Path) -> bytes:
    for node in ast.walk(ast.parse(module.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "AddSerializedFile" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, bytes)):
            return node.args[0].value
    raise ValueError(f"{module}: no AddSerializedFile(b'...') call")


def pyspark_dir(python: str) -> Path:
    code = "import importlib.util, os; print(os.path.dirname(importlib.util.find_spec('pyspark').origin))"
    return Path(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip())


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--pyspark-dir":
        root, out = Path(sys.argv[2]), Path(sys.argv[3])
    elif len(sys.argv) == 3:
        root, out = pyspark_dir(sys.argv[1]), Path(sys.argv[2])
    else:
        sys.exit(__doc__)
    modules = sorted((root / "sql/connect/proto").glob("*_pb2.py"))
    if not modules:
        sys.exit(f"no Spark Connect modules under {root}/sql/connect/proto: is pyspark >= 3.4 installed?")
    files, imports = [], set()
    for module in modules:
        descriptor = serialized_descriptor(module)
        name = string_fields(descriptor, 1)[0]
        if not name.startswith("spark/connect/"):
            continue
        files.append(descriptor)
        imports.update(d for d in string_fields(descriptor, 3) if d.startswith("google/protobuf/"))
    # FileDescriptorSet { repeated FileDescriptorProto file = 1; }
    out.write_bytes(b"".join(b"\x0a" + varint(len(f)) + f for f in files))
    print("\n".join(sorted(imports)))


if __name__ == "__main__":
    main()
