"""« Payé à » -> the partner an expense line pays (SPEC §4.6), on a whole lot at once.

A line pays a partner of its own workbook when « Payé à » holds the partner's code in
any case and spacing (« p 01 » is P01), its raison sociale matched loosely (case, accents,
punctuation), or its SIRET in any spacing. Anything else is a supplier or a person,
except a value shaped like the workbook's partner codes that no partner has (« P03 »
beside P01 and P02): that one is reported, it cannot be told from a partner payment.

« Shaped like a code »: each declared code is cut into runs of letters, of digits and of
other characters; a value has its shape when it has the same letters and other characters
in the same order, with a run of 1 to n+1 digits wherever the code has n digits (P01 gives
P, then 1 to 3 digits: P3, P03 and P003 have it; « P3 Imprimerie », P1234 and Q03 do not).
A code without a digit has no other value of its shape.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd

from .lot import Lot
from .values import norm

_RUN_RE = re.compile(r"[A-Z]+|[0-9]+|[^A-Z0-9]+")
_SIRET_SEPARATORS_RE = re.compile(r"[\s.\-]+")


def code_key(text: str) -> str:
    """A code in any case and spacing: « p 01 » and « P01 » are the same code."""
    return "".join(text.split()).upper()


def siret_key(text: str) -> str | None:
    """The 14 digits of a SIRET typed with any spacing, or None."""
    text = text.strip()
    if len(text) < 14 or not text[0].isdigit():  # most texts: a name
        return None
    digits = _SIRET_SEPARATORS_RE.sub("", text)
    return digits if len(digits) == 14 and digits.isascii() and digits.isdigit() else None


@lru_cache(maxsize=1024)
def code_shape(code: str) -> re.Pattern | None:
    """The values shaped like this (code_key'd) code, as a pattern; None without a digit."""
    runs = _RUN_RE.findall(code)
    if not any(run.isdigit() for run in runs):
        return None
    parts = [rf"[0-9]{{1,{len(run) + 1}}}" if run.isdigit() else re.escape(run) for run in runs]
    return re.compile("".join(parts))


class Payees:
    """The partners of every workbook of a lot, by the keys « Payé à » may hold."""

    def __init__(self, lot: Lot):
        partners = lot.tables["partenaires"]
        self.by_key: dict[tuple[int, str, str], int] = {}  # -> position in Partenaires
        self.shapes: dict[int, list[re.Pattern]] = {}
        self.codes: dict[int, list[str]] = {}
        if partners.empty:
            return
        rows = zip(
            range(len(partners)),
            partners["id"].tolist(),
            partners["code"].to_numpy(dtype=object, na_value=None),
            partners["raison_sociale"].to_numpy(dtype=object, na_value=None),
            partners["siret"].to_numpy(dtype=object, na_value=None),
            strict=True,
        )
        named = []  # names and SIRETs come after every code: a code always wins
        for at, i, code, name, siret in rows:
            if code is None:
                continue
            key = code_key(code)
            self.by_key.setdefault((i, "code", key), at)
            self.codes.setdefault(i, []).append(code)
            shape = code_shape(key)
            if shape is not None and shape not in self.shapes.get(i, ()):
                self.shapes.setdefault(i, []).append(shape)  # P01…P06: one shape
            if name is not None and norm(name):
                named.append(((i, "nom", norm(name)), at))
            if siret is not None:
                named.append(((i, "siret", siret), at))
        for key, at in named:
            self.by_key.setdefault(key, at)

    def partner(self, i: int, text: str) -> int | None:
        """The position (in the lot's Partenaires frame) of the partner this text names."""
        found = self.by_key.get((i, "code", code_key(text)))
        if found is None:
            found = self.by_key.get((i, "nom", norm(text)))
        if found is None and (siret := siret_key(text)) is not None:
            found = self.by_key.get((i, "siret", siret))
        return found

    def looks_like_a_code(self, i: int, text: str) -> bool:
        key = code_key(text)
        return any(shape.fullmatch(key) for shape in self.shapes.get(i, ()))


def _per_text(lot: Lot, lines: pd.DataFrame, decide, missing) -> np.ndarray:
    """decide(workbook, text) for each line, computed once per distinct (workbook, text)
    (the lot's code keys already tell apart texts up to case and surrounding spaces, which
    no match depends on); `missing` where « Payé à » is empty."""
    keys = lot.key("depenses", "paye_a", lines).to_numpy(dtype="float64", na_value=np.nan)
    codes, uniques = pd.factorize(keys, use_na_sentinel=True)
    firsts = np.full(len(uniques), -1, dtype=np.int64)
    seen = codes >= 0
    firsts[codes[seen][::-1]] = np.flatnonzero(seen)[::-1]  # the first line of each text
    ids = lines["id"].to_numpy()
    texts = lines["paye_a"].to_numpy(dtype=object, na_value=None)
    decided = [decide(int(ids[k]), texts[k]) for k in firsts]
    out = np.array([*decided, missing], dtype=object)[codes]  # -1: the last one, missing
    return out


def partner_rows(lot: Lot, lines: pd.DataFrame) -> np.ndarray:
    """For each expense line, the position of the partner it pays in
    lot.tables["partenaires"], or -1 when it pays none."""
    payees = Payees(lot)
    if not payees.by_key or lines.empty:
        return np.full(len(lines), -1, dtype=np.int64)

    def decide(i: int, text: str) -> int:
        found = payees.partner(i, text)
        return -1 if found is None else found

    return _per_text(lot, lines, decide, -1).astype(np.int64)


def undeclared(lot: Lot) -> pd.DataFrame:
    """The expense lines whose « Payé à » is shaped like a partner code of their workbook
    but names no partner (see the module's docstring)."""
    lines = lot.tables["depenses"]
    payees = Payees(lot)
    if not payees.shapes or lines.empty:
        return lines.iloc[:0]

    def decide(i: int, text: str) -> bool:
        return (
            i in payees.shapes
            and payees.looks_like_a_code(i, text)
            and payees.partner(i, text) is None
        )

    flagged = np.flatnonzero(_per_text(lot, lines, decide, False).astype(bool))
    return lines.iloc[flagged] if len(flagged) else lines.iloc[:0]
