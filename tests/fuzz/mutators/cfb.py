"""The OLE compound file (CFB, [MS-CFB]) around an .xls, just enough of it: find the
Workbook stream, write a stream back in place, or build a new file holding one stream."""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
FREE, END, FATSECT, DIFSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFC, 0xFFFFFFFF
ENTRY = 128


@dataclass
class Entry:
    index: int
    name: str
    type: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int
    offset: int  # of the 128-byte entry in the file


@dataclass
class Cfb:
    data: bytes
    sector: int  # sector size
    fat: list[int]
    entries: list[Entry]
    cutoff: int  # mini stream cutoff

    def offset(self, sector: int) -> int:
        return (sector + 1) * self.sector

    def chain(self, start: int, limit: int = 1 << 20) -> list[int]:
        sectors, seen = [], set()
        while start < len(self.fat) and start not in seen and len(sectors) < limit:
            seen.add(start)
            sectors.append(start)
            start = self.fat[start]
        return sectors

    def entry(self, *names: str) -> Entry | None:
        for e in self.entries:
            if e.type == 2 and e.name in names:
                return e
        return None

    def stream(self, entry: Entry) -> bytes | None:
        """A regular stream's bytes (None for a stream in the mini stream)."""
        if entry.size < self.cutoff:
            return None
        out = b"".join(
            self.data[self.offset(s) : self.offset(s) + self.sector]
            for s in self.chain(entry.start)
        )
        return out[: entry.size] if len(out) >= entry.size else None

    def write_in_place(self, entry: Entry, new: bytes) -> bytes:
        """The file with a regular stream's bytes replaced (same length)."""
        out = bytearray(self.data)
        for i, s in enumerate(self.chain(entry.start)):
            piece = new[i * self.sector : (i + 1) * self.sector]
            if not piece:
                break
            out[self.offset(s) : self.offset(s) + len(piece)] = piece
        return bytes(out)


def parse(data: bytes) -> Cfb | None:
    """The container's FAT and directory, or None when it is too damaged to find them."""
    if len(data) < 512 or not data.startswith(MAGIC):
        return None
    shift = struct.unpack("<H", data[30:32])[0]
    if not 7 <= shift <= 16:
        return None
    sector = 1 << shift
    cutoff = struct.unpack("<I", data[56:60])[0]
    difat = [s for s in struct.unpack("<109I", data[76:512]) if s < FATSECT]
    next_difat, count = struct.unpack("<II", data[68:76])
    while next_difat < FATSECT and count > 0 and len(difat) < 1 << 16:
        block = data[(next_difat + 1) * sector : (next_difat + 2) * sector]
        if len(block) < sector:
            break
        ids = struct.unpack(f"<{sector // 4}I", block)
        difat += [s for s in ids[:-1] if s < FATSECT]
        next_difat, count = ids[-1], count - 1
    fat: list[int] = []
    for s in difat:
        block = data[(s + 1) * sector : (s + 2) * sector]
        if len(block) == sector:
            fat += struct.unpack(f"<{sector // 4}I", block)
    cfb = Cfb(data, sector, fat, [], cutoff)
    first_dir = struct.unpack("<I", data[48:52])[0]
    for s in cfb.chain(first_dir, limit=4096):
        base = cfb.offset(s)
        for k in range(sector // ENTRY):
            at = base + k * ENTRY
            raw = data[at : at + ENTRY]
            if len(raw) < ENTRY:
                break
            length = min(struct.unpack("<H", raw[64:66])[0], 64)
            name = raw[: max(0, length - 2)].decode("utf-16-le", "replace")
            start, size = struct.unpack("<IQ", raw[116:128])
            if sector == 512:
                size &= 0xFFFFFFFF
            cfb.entries.append(Entry(len(cfb.entries), name, raw[66], start, size, at))
    return cfb


def build(name: str, stream: bytes) -> bytes:
    """A new compound file holding one stream, in regular sectors (padded to the mini
    stream cutoff when shorter: a BIFF reader stops at the last EOF record anyway)."""
    sector = 512
    stream = stream + bytes(max(0, 4096 - len(stream)))
    n_stream = -(-len(stream) // sector)
    n_dir = 1
    n_fat = 1
    while (n_stream + n_dir + n_fat) > n_fat * (sector // 4):
        n_fat += 1
    assert n_fat <= 109
    fat = [*range(1, n_stream), END]  # the stream's chain
    fat += [END]  # the directory
    fat += [FATSECT] * n_fat
    fat += [FREE] * (n_fat * (sector // 4) - len(fat))
    header = bytearray(512)
    header[0:8] = MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<IIII", header, 40, 0, n_fat, n_stream, 0)
    struct.pack_into("<IIIII", header, 56, 4096, END, 0, END, 0)
    difat = [n_stream + n_dir + i for i in range(n_fat)] + [FREE] * (109 - n_fat)
    struct.pack_into("<109I", header, 76, *difat)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = bytearray(ENTRY)
        encoded = (name + "\x00").encode("utf-16-le")
        raw[: len(encoded)] = encoded
        struct.pack_into("<HBB", raw, 64, len(encoded), kind, 1)
        struct.pack_into("<III", raw, 68, NOSTREAM, NOSTREAM, child)
        struct.pack_into("<IQ", raw, 116, start, size)
        return bytes(raw)

    directory = entry("Root Entry", 5, 1, END, 0) + entry(name, 2, NOSTREAM, 0, len(stream))
    directory += entry("", 0, NOSTREAM, 0, 0) * 2
    body = stream + bytes(n_stream * sector - len(stream)) + directory
    return bytes(header) + body + struct.pack(f"<{len(fat)}I", *fat)
