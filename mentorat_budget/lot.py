"""Many typed workbooks as one set of tables: one concatenation per table.

Each table gets an `id` column (the workbook's position in the lot), so that the
checks, the eligibility rules and the figures run once on whole columns for the lot
instead of once per workbook. A single workbook (`verifier`) is a lot of one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .anomalies import Anomalies
from .rules import Rules
from .schema import ETABLISSEMENT, TABLES, Kind
from .validate import KEY, ROW, Parsed, Table, frame_of


def _etab_frame(parsed: list[Parsed]) -> pd.DataFrame:
    data = {}
    for column in ETABLISSEMENT.columns:
        values = [p.etablissement.get(column.key) for p in parsed]
        if column.kind in (Kind.MONEY, Kind.INT, Kind.YEAR):
            data[column.key] = pd.array(values, dtype="Int64")
        elif column.kind is Kind.BOOL:
            data[column.key] = pd.array(values, dtype="boolean")
        elif column.kind is Kind.DATE:
            data[column.key] = pd.to_datetime(pd.Series(values, dtype=object)).astype(
                "datetime64[s]"
            )
        else:
            data[column.key] = pd.array(values, dtype="string")
    return pd.DataFrame(data).rename_axis("id")


@dataclass
class Lot:
    """The typed workbooks of a batch, and what the checks find in them."""

    rules: Rules
    parsed: list[Parsed]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)  # with `id` and `ligne`
    etab: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per workbook
    eligibilite: object = None  # eligibility.Eligibilite, once computed
    # Workbooks whose expenses are dated in another campaign (checks.check_campagne_dates):
    # one anomaly on their Campagne cell, no period warning per line.
    wrong_campaign: set[int] = field(default_factory=set)

    vocabulary: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    _codes: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, parsed: list[Parsed], rules: Rules) -> Lot:
        lot = cls(rules, parsed)
        readable = [i for i, p in enumerate(parsed) if p.lisible]
        for sheet in TABLES:
            ids = [i for i in readable if sheet.key in parsed[i].tables]
            columns = [parsed[i].tables[sheet.key].columns for i in ids]
            lot.tables[sheet.key] = frame_of(sheet, columns, ids)
        lot.etab = _etab_frame(parsed)
        lot._factorize_codes()
        return lot

    def release(self) -> None:
        """Drop the workbooks' own columns, once the lot is checked: its frames hold the
        data now (until then, a workbook can still be checked alone, see batch)."""
        for p in self.parsed:
            for table in p.tables.values():
                table.columns = {}

    def _factorize_codes(self) -> None:
        """Every code of the lot (upper-cased by the workers) -> one integer, once."""
        places = [(key, c) for key, f in self.tables.items() for c in f if c.startswith(KEY)]
        arrays = [self.tables[key][c].to_numpy() for key, c in places]
        if not arrays:
            return
        codes, uniques = pd.factorize(np.concatenate(arrays), use_na_sentinel=True)
        self.vocabulary = pd.Index(uniques, dtype=object)
        start = 0
        for (key, c), array in zip(places, arrays, strict=True):
            self.tables[key][c] = codes[start : start + len(array)]
            start += len(array)

    def key(self, table: str, column: str, frame: pd.DataFrame | None = None) -> pd.Series:
        """A code of a column, as one integer per (workbook, code): codes of different
        workbooks never match, and case or spaces do not matter. NA where empty."""
        frame = self.tables[table] if frame is None else frame
        return self._combine(frame["id"].to_numpy(), frame[KEY + column].to_numpy(), frame.index)

    def codes_in(self, table: str, column: str) -> pd.DataFrame:
        """The codes listed in a text column (« E01, E02 »), one row per code, with the
        `id` and `ligne` of their line; computed once per lot."""
        cached = self._codes.get((table, column))
        if cached is None:
            frame = self.tables[table]
            texts = frame[column].to_numpy(dtype=object, na_value=None)
            # one Python pass: faster than pandas' string methods, which loop in Python too
            found = [
                (i, ligne, code)
                for i, ligne, text in zip(
                    frame["id"].tolist(), frame[ROW].tolist(), texts, strict=True
                )
                if text is not None
                for piece in text.replace(";", ",").split(",")
                if (code := piece.strip())
            ]
            ids, lignes, codes = zip(*found, strict=True) if found else ((), (), ())
            cached = pd.DataFrame(
                {
                    "id": np.array(ids, np.int64),
                    ROW: np.array(lignes, np.int64),
                    "code": np.array(codes, dtype=object),
                }
            )
            self._codes[(table, column)] = cached
        return cached

    def key_of(self, ids, texts: pd.Series) -> pd.Series:
        """The same key for codes found in free text (e.g. « E01, E02 »)."""
        upper = [t.strip().upper() for t in texts.to_numpy(dtype=object, na_value="")]
        codes = (
            self.vocabulary.get_indexer(upper) if len(self.vocabulary) else np.full(len(upper), -1)
        )
        return self._combine(np.asarray(ids), codes, texts.index)

    def _combine(self, ids: np.ndarray, codes: np.ndarray, index) -> pd.Series:
        width = len(self.vocabulary) + 1
        values = ids.astype(np.int64) * width + codes.astype(np.int64)
        return pd.Series(pd.arrays.IntegerArray(values, codes < 0), index=index)

    def __len__(self) -> int:
        return len(self.parsed)

    def anomalies(self, i: int) -> Anomalies:
        return self.parsed[i].anomalies

    def has(self, key: str, i: int) -> bool:
        """Workbook i has this sheet (a missing sheet was already reported)."""
        return key in self.parsed[i].tables

    def table(self, key: str, i: int) -> Table:
        return self.parsed[i].tables[key]

    def where(self, key: str, i: int, column: str, ligne: int) -> tuple[str, str]:
        """(the user's sheet name, the cell) of a column on a line of workbook i."""
        table = self.parsed[i].tables[key]
        return table.name, table.cell(column, ligne)

    def add(
        self,
        i: int,
        code: str,
        key: str,
        column: str,
        ligne: int,
        value: object = "",
        **fields: object,
    ) -> None:
        """An anomaly on a cell of a table of workbook i."""
        sheet, cell = self.where(key, i, column, ligne)
        self.parsed[i].anomalies.add(code, sheet, cell, value, **fields)

    def rows(self, key: str, mask) -> pd.DataFrame:
        """The rows of a table where a boolean mask (NA = False) holds."""
        frame = self.tables[key]
        return frame.loc[pd.Series(mask, index=frame.index).fillna(False).astype(bool)]


__all__ = ["ROW", "Lot"]
