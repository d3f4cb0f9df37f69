"""Zip archives (.xlsx, .xlsm, .ods): reading and writing members deterministically,
and mutations of the archive itself (members doubled, renamed, lying headers…)."""

from __future__ import annotations

import io
import random
import struct
import warnings
import zipfile
from dataclasses import dataclass

DATE = (1980, 1, 1, 0, 0, 0)  # every member written with this date: mutants are reproducible


@dataclass
class Member:
    name: str
    data: bytes
    stored: bool = False


def read(data: bytes) -> list[Member] | None:
    """The members of an archive in their order, or None if Python cannot read it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return [
                Member(i.filename, z.read(i), i.compress_type == zipfile.ZIP_STORED)
                for i in z.infolist()
            ]
    except Exception:  # a mutant of a mutant: anything may be broken
        return None


def write(members: list[Member]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():  # "Duplicate name": that is the point
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(out, "w") as z:
            for m in members:
                info = zipfile.ZipInfo(m.name, DATE)
                info.compress_type = zipfile.ZIP_STORED if m.stored else zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                z.writestr(info, m.data)
    return out.getvalue()


def edit_member(data: bytes, name: str, change) -> bytes | None:
    """The archive with member `name` replaced by `change(bytes)` (None: not applicable)."""
    members = read(data)
    if members is None:
        return None
    for m in members:
        if m.name == name:
            new = change(m.data)
            if new is None:
                return None
            m.data = new
            return write(members)
    return None


def names(data: bytes) -> list[str]:
    members = read(data)
    return [] if members is None else [m.name for m in members]


def _central(data: bytes) -> list[int]:
    """Offsets of the central-directory records."""
    end = data.rfind(b"PK\x05\x06")
    if end < 0 or end + 22 > len(data):
        return []
    count, _, offset = struct.unpack("<HII", data[end + 10 : end + 20])
    found = []
    for _ in range(count):
        if data[offset : offset + 4] != b"PK\x01\x02":
            break
        found.append(offset)
        n, m, k = struct.unpack("<HHH", data[offset + 28 : offset + 34])
        offset += 46 + n + m + k
    return found


def _patch(data: bytes, rng: random.Random, field: str) -> bytes | None:
    """One field of one member's headers changed in place (central directory, and the
    local header for the method and flags)."""
    records = _central(data)
    if not records:
        return None
    at = rng.choice(records)
    out = bytearray(data)
    local = struct.unpack("<I", data[at + 42 : at + 46])[0]
    if field == "size":  # uncompressed size, central directory
        value = rng.choice(
            [
                0,
                1,
                0xFFFFFFFF,
                0x7FFFFFFF,
                struct.unpack("<I", data[at + 24 : at + 28])[0] * 1000 & 0xFFFFFFFF,
            ]
        )
        out[at + 24 : at + 28] = struct.pack("<I", value)
    elif field == "compressed":
        out[at + 20 : at + 24] = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, 10]))
    elif field == "method":
        method = rng.choice([0, 8, 9, 12, 14, 93, 99, 0xFFFF])
        out[at + 10 : at + 12] = struct.pack("<H", method)
        if local + 10 <= len(out):
            out[local + 8 : local + 10] = struct.pack("<H", method)
    elif field == "flags":
        flag = rng.choice([0x0001, 0x0008, 0x0040, 0x0800, 0xFFFF])
        out[at + 8 : at + 10] = struct.pack("<H", flag)
        if local + 8 <= len(out):
            out[local + 6 : local + 8] = struct.pack("<H", flag)
    elif field == "offset":
        out[at + 42 : at + 46] = struct.pack("<I", rng.choice([0, 1, 0xFFFFFFFF, len(data) - 22]))
    elif field == "crc":
        out[at + 16 : at + 20] = struct.pack("<I", rng.getrandbits(32))
    return bytes(out)


def mutate(data: bytes, rng: random.Random) -> bytes | None:
    """One mutation of the archive, its members' contents untouched."""
    members = read(data)
    if not members:
        return None
    op = rng.choice(["duplicate", "delete", "rename", "reorder", "stored", "before",
                     "after", "comment", "size", "compressed", "method", "flags", "offset",
                     "crc", "nested-dirs"])  # fmt: skip
    m = rng.choice(members)
    if op == "duplicate":
        copy = Member(m.name, m.data if rng.random() < 0.5 else b"<x/>", m.stored)
        members.insert(rng.randrange(len(members) + 1), copy)
    elif op == "delete":
        members.remove(m)
    elif op == "rename":
        m.name = rng.choice([
            m.name.upper(), m.name.lower(), m.name.replace("/", "\\"), "/" + m.name,
            "./" + m.name, m.name + " ", m.name.replace(".xml", ".XML"), "../" + m.name,
            m.name.replace("/", "//"), m.name + "\x00x",
        ])  # fmt: skip
    elif op == "reorder":
        rng.shuffle(members)
    elif op == "stored":
        for each in members:
            each.stored = True
    elif op == "nested-dirs":
        members.append(Member("/".join(["d"] * rng.choice([10, 1000])) + "/x.xml", b"<x/>"))
    out = write(members)
    if op == "before":
        return rng.choice([b"PK\x03\x04", b"\x00" * 100, b"MZ" + bytes(1000), out[:500]]) + out
    if op == "after":
        return out + rng.choice([b"\x00" * 100, out[-200:], b"PK\x05\x06" + bytes(18), out])
    if op == "comment":
        end = out.rfind(b"PK\x05\x06")
        comment = bytes(rng.randrange(256) for _ in range(rng.choice([10, 65535])))
        return out[: end + 20] + struct.pack("<H", len(comment)) + comment
    if op in ("size", "compressed", "method", "flags", "offset", "crc"):
        return _patch(out, rng, op)
    return out
