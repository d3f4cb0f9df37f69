"""Values that readers get wrong: counts and sizes near the limits of their integer types,
absurd floats, malformed references, text that makes regular expressions backtrack."""

from __future__ import annotations

import random

# Counts, sizes and repeats (attributes `count`, `uniqueCount`, `number-*-repeated`…).
COUNTS = [
    "0", "-1", "1", "2", "3", "255", "256", "65535", "65536", "1048575", "1048576", "1048577",
    "16384", "16385", "2147483647", "2147483648", "4294967295", "4294967296",
    "99999999999", "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "1000000", "100000000", "1e9", "+5", " 7 ", "0x10", "07", "", "x", "1.5", "-2147483649",
]  # fmt: skip
# Cell values (<v>, office:value): floats a date or money conversion chokes on.
NUMBERS = [
    "0", "-0", "-1", "0.5", "1e308", "-1e308", "1.7976931348623157e308", "-1e300", "1e300",
    "1e15", "-1e15", "9.99e307", "2958465", "2958466", "2958465.99999999", "-693594",
    "-693595", "-1e10", "1e10", "1e20", "-1e20", "NaN", "nan", "inf", "-inf", "Infinity",
    "4294967296", "9223372036854775808", "-9223372036854775809", "1e-320", "5e-324",
    "0.000000001", "1e999", "-1e999", "12,5", "1 234", "", " ", "abc", "0x1F", "1_000",
    "٣", "１２", "60", "61", "1900", "-2147483648", "2147483648", "99999999999999999999",
]  # fmt: skip
# Numbers that are huge or negative enough to break a date conversion.
DATE_NUMBERS = [
    "-1e300", "-1e308", "-1.7976931348623157e308", "1e308", "-1e15", "-1e10", "-99999999",
    "-693594", "-693595", "-1", "-0.5", "2958466", "1e15", "1e20", "-1e20", "NaN", "inf",
    "-inf", "9223372036854775807", "-9223372036854775808", "60", "0", "1e-320",
]  # fmt: skip
# Cell references (the `r` of a cell, a merge or dimension range).
REFS = [
    "A1", "XFD1048576", "XFD1", "A1048576", "XFE1", "A1048577", "ZZZ99999999", "A0", "A",
    "1", "", "a1", "A01", "$A$1", "AAAAAAAA1", "A4294967296", "A-1", "A1:XFD1048576",
    "IV65536", "Z9999", "AA10000", "XFD16384", "A99999999999999999999", "É1", "A 1",
]  # fmt: skip
RANGES = [
    "A1:XFD1048576", "A1:A1048576", "A1:XFD1", "XFD1048576:A1", "A1:ZZZ99999999", "A1:",
    ":", "", "A1", "B2:A1", "A1:B2 C3:D4", "A1:IV65536", "A1:B2:C3",
]  # fmt: skip
DATES = [
    "2024-10-15", "2024-10-15T00:00:00", "-99999999-01-01", "99999-12-31", "0000-00-00",
    "2024-13-45", "2024-02-30", "1899-12-30", "0001-01-01", "9999-12-31T23:59:59.999999999",
    "", "x", "2024-10-15T25:61:61", "+002024-10-15", "2024-10-15Z", "2024-10-15+99:99",
    "20241015", "1e308",
]  # fmt: skip
DURATIONS = ["PT0S", "PT99999999999H", "P99999999999D", "-PT1H", "PT1.5H", "PT", "P", "x"]
SEPARATORS = [
    " ", "\n", "\t", "\u00a0", "\u202f", ",", ".", "0", "€", "e", "-", "/", " €", "eur",
    "\r\n", "'", "(", "1", "9", ":",
]  # fmt: skip
LENGTHS = [10, 100, 1000, 10_000, 40_000, 100_000]


def pathological_text(rng: random.Random) -> str:
    """Text shaped to make a parser or a regular expression work hard."""
    sep = rng.choice(SEPARATORS)
    n = rng.choice(LENGTHS)
    return rng.choice([
        lambda: "1" + sep * n + "2",
        lambda: sep * n,
        lambda: "1" + sep * n,
        lambda: sep * n + "€",
        lambda: ("1" + sep) * (n // 2),
        lambda: "é" * n,
        lambda: "".join(chr(rng.randrange(1, 0x2FFFF)) for _ in range(min(n, 2000))),
        lambda: "\x01\x02\x0b\x1f\ufffe\ufeff\u202e" * (n // 7 + 1),
        lambda: "=" + "A1+" * (n // 3) + "1",
        lambda: "12/03/" + "2" * n,
        lambda: "Oui" + " " * n + "x",
    ])()  # fmt: skip


def text_value(rng: random.Random) -> str:
    """A short odd value or a pathological text."""
    if rng.random() < 0.5:
        return pathological_text(rng)
    return rng.choice([*NUMBERS, *DATES, "Oui", "Non", "#DIV/0!", "=1+2", "Total", "P99"])
