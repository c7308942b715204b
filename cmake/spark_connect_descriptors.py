"""Writes the part of the Spark Connect protocol the PFAD client uses as a FileDescriptorSet.

pyspark ships the protocol only as generated modules (pyspark/sql/connect/proto/*_pb2.py),
each embedding its serialized FileDescriptorProto in an AddSerializedFile(b'...') call. This
reads those bytes with `ast` (the modules are not imported: they need a newer protobuf
runtime than Debian's) and writes a FileDescriptorSet for `protoc --descriptor_set_in`:

- only the files the client needs: the imports of the --root files, transitively, except
  the --prune files. Fields and oneof members whose types are defined in a pruned file are
  dropped (with the import), so the client keeps such data as unknown fields; it never sends
  it and ignores it in responses (ML and declarative-pipeline commands).
- with `option optimize_for = CODE_SIZE` in every file: the generated C++ parses and
  serializes through reflection, which compiles several times faster; the client's hot path
  reads Arrow batches as one `bytes` field, so the slower per-field path hardly shows.

Prints the kept spark/connect/*.proto names, then the google/protobuf/*.proto files they
import, one a line, so the caller can list the generated sources and add the well-known
types' descriptors (from the system protoc) to the set.

usage: spark_connect_descriptors.py --pyspark-dir DIR [--root F.proto]... [--prune F.proto]... OUT.pb
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

# (field number, wire type, value): value is an int (varint, fixed) or bytes (length-delimited).
Field = tuple[int, int, "int | bytes"]

# Field numbers used below, from google/protobuf/descriptor.proto.
FILE_NAME, FILE_PACKAGE, FILE_DEPENDENCY, FILE_MESSAGE_TYPE, FILE_ENUM_TYPE = 1, 2, 3, 4, 5
FILE_OPTIONS, FILE_PUBLIC_DEPENDENCY, FILE_WEAK_DEPENDENCY = 8, 10, 11
MSG_NAME, MSG_FIELD, MSG_NESTED_TYPE, MSG_ENUM_TYPE, MSG_ONEOF_DECL = 1, 2, 3, 4, 8
FIELD_TYPE_NAME, FIELD_ONEOF_INDEX = 6, 9
OPTIONS_OPTIMIZE_FOR, CODE_SIZE = 9, 2


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


def decode(message: bytes) -> list[Field]:
    pos, fields = 0, []
    while pos < len(message):
        key, pos = read_varint(message, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(message, pos)
        elif wire == 1:
            value, pos = int.from_bytes(message[pos:pos + 8], "little"), pos + 8
        elif wire == 5:
            value, pos = int.from_bytes(message[pos:pos + 4], "little"), pos + 4
        elif wire == 2:
            length, pos = read_varint(message, pos)
            value, pos = message[pos:pos + length], pos + length
        else:
            raise ValueError(f"unexpected wire type {wire} in a descriptor")
        fields.append((number, wire, value))
    return fields


def encode(fields: list[Field]) -> bytes:
    out = bytearray()
    for number, wire, value in fields:
        out += varint(number << 3 | wire)
        if wire == 0:
            out += varint(value)
        elif wire == 1:
            out += value.to_bytes(8, "little")
        elif wire == 5:
            out += value.to_bytes(4, "little")
        else:
            out += varint(len(value)) + value
    return bytes(out)


def strings(fields: list[Field], number: int) -> list[str]:
    return [v.decode() for n, w, v in fields if n == number and w == 2]


def defined_types(fields: list[Field], scope: str, nested: int, enums: int) -> set[str]:
    names = set()
    for number, wire, value in fields:
        if wire != 2 or number not in (nested, enums):
            continue
        inner = decode(value)
        name = f"{scope}.{strings(inner, MSG_NAME)[0]}"
        names.add(name)
        if number == nested:
            names |= defined_types(inner, name, MSG_NESTED_TYPE, MSG_ENUM_TYPE)
    return names


def prune_message(message: bytes, dropped: set[str]) -> tuple[bytes, list[str]]:
    """The DescriptorProto without fields of a `dropped` type; also returns their names."""
    fields, kept, removed = decode(message), [], []
    for number, wire, value in fields:
        if number == MSG_FIELD:
            field = decode(value)
            type_name = next(iter(strings(field, FIELD_TYPE_NAME)), "")
            if type_name in dropped:
                removed.append(f"{strings(fields, MSG_NAME)[0]}.{strings(field, MSG_NAME)[0]}")
                continue
        elif number == MSG_NESTED_TYPE:
            value, inner_removed = prune_message(value, dropped)
            removed += inner_removed
        kept.append((number, wire, value))
    # A oneof left without members would be an invalid descriptor.
    used_oneofs = {index for number, _, value in kept if number == MSG_FIELD
                   for n, _, index in decode(value) if n == FIELD_ONEOF_INDEX}
    if sum(1 for number, _, _ in kept if number == MSG_ONEOF_DECL) > len(used_oneofs):
        raise ValueError(f"pruning empties a oneof of {strings(fields, MSG_NAME)[0]}")
    return encode(kept), removed


def serialized_descriptor(module: Path) -> bytes:
    for node in ast.walk(ast.parse(module.read_text())):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "AddSerializedFile" and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, bytes)):
            return node.args[0].value
    raise ValueError(f"{module}: no AddSerializedFile(b'...') call")


def main() -> None:
    parser = argparse.ArgumentParser(usage=__doc__.rsplit("usage: ", 1)[1])
    parser.add_argument("--pyspark-dir", type=Path, required=True)
    parser.add_argument("--root", action="append", default=[], help="a file the client includes")
    parser.add_argument("--prune", action="append", default=[], help="a file the client never uses")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    modules = sorted((args.pyspark_dir / "sql/connect/proto").glob("*_pb2.py"))
    if not modules:
        sys.exit(f"no Spark Connect modules under {args.pyspark_dir}/sql/connect/proto: "
                 "is pyspark >= 3.4 installed?")
    files: dict[str, list[Field]] = {}
    for module in modules:
        fields = decode(serialized_descriptor(module))
        files[strings(fields, FILE_NAME)[0]] = fields
    missing = [f for f in args.root + args.prune if f not in files]
    if missing:
        sys.exit(f"pyspark {args.pyspark_dir} has no {', '.join(missing)}: the Spark Connect "
                 "protocol changed; update the lists in cmake/PfadSparkConnect.cmake")
    pruned = set(args.prune)
    dropped: set[str] = set()
    for name in pruned:
        package = "." + strings(files[name], FILE_PACKAGE)[0]
        dropped |= defined_types(files[name], package, FILE_MESSAGE_TYPE, FILE_ENUM_TYPE)

    kept, todo, imports = [], list(args.root), set()
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept.append(name)
        for dep in strings(files[name], FILE_DEPENDENCY):
            if dep.startswith("google/protobuf/"):
                imports.add(dep)
            elif dep not in pruned:
                todo.append(dep)

    out = bytearray()
    for name in sorted(kept):
        fields, removed = [], []
        for number, wire, value in files[name]:
            if number == FILE_DEPENDENCY and value.decode() in pruned:
                continue
            if number in (FILE_PUBLIC_DEPENDENCY, FILE_WEAK_DEPENDENCY):
                raise ValueError(f"{name}: public/weak imports are not supported by the pruning")
            if number == FILE_MESSAGE_TYPE:
                value, message_removed = prune_message(value, dropped)
                removed += message_removed
            fields.append((number, wire, value))
        # A second `options` field merges with an existing one (protobuf merge semantics).
        fields.append((FILE_OPTIONS, 2, encode([(OPTIONS_OPTIMIZE_FOR, 0, CODE_SIZE)])))
        if removed:
            print(f"{name}: dropped {', '.join(removed)}", file=sys.stderr)
        descriptor = encode(fields)
        # FileDescriptorSet { repeated FileDescriptorProto file = 1; }
        out += b"\x0a" + varint(len(descriptor)) + descriptor
    args.out.write_bytes(bytes(out))
    print("\n".join(sorted(kept) + sorted(imports)))


if __name__ == "__main__":
    main()
