"""Raw byte mutations of a whole file, whatever its format: flips, insertions, deletions,
splices with another seed, truncations (a damaged disk, a failed download, a bad copy)."""

from __future__ import annotations

import random

INTERESTING = [b"\x00", b"\xff", b"\x7f", b"\x80", b"\x00\x00\x00\x80", b"\xff\xff\xff\xff",
               b"\xff\xff\xff\x7f", b"\x00\x00\x01\x00", b"\xfe\xff", b"\xff\xfe"]  # fmt: skip


def flip(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    out = bytearray(data)
    for _ in range(rng.choice([1, 1, 2, 4, 16, 64])):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def overwrite(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    """Interesting values (0, -1, INT_MAX…) written over a few places."""
    out = bytearray(data)
    for _ in range(rng.choice([1, 2, 8])):
        value = rng.choice(INTERESTING)
        i = rng.randrange(max(1, len(out) - len(value)))
        out[i : i + len(value)] = value
    return bytes(out)


def insert(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    i = rng.randrange(len(data) + 1)
    n = rng.choice([1, 4, 64, 4096])
    piece = rng.choice([bytes(rng.randrange(256) for _ in range(n)), b"\x00" * n,
                        data[i : i + n] * rng.choice([1, 100])])  # fmt: skip
    return data[:i] + piece + data[i:]


def delete(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    i = rng.randrange(len(data))
    return data[:i] + data[i + rng.choice([1, 4, 64, 4096, len(data)]) :]


def duplicate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    i = rng.randrange(len(data))
    j = min(len(data), i + rng.choice([16, 512, 8192]))
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[i:j] + data[at:]


def splice(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    """The start of this file and the end of another seed (or the reverse)."""
    other = rng.choice(others)
    i, j = rng.randrange(len(data)), rng.randrange(len(other))
    return data[:i] + other[j:] if rng.random() < 0.5 else other[:j] + data[i:]


def truncate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes | None:
    cut = rng.choice([
        rng.randrange(1, len(data)), len(data) // 2, len(data) - 1, len(data) - 22, 512, 8,
    ])  # fmt: skip
    return data[: max(1, cut)]


OPS = {
    "flip": flip,
    "overwrite": overwrite,
    "insert": insert,
    "delete": delete,
    "duplicate": duplicate,
    "splice": splice,
    "truncate": truncate,
}
