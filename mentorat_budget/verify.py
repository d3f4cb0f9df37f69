"""From files to checked workbooks: read and type each one (`parse`, in a worker for a
batch), then check a whole lot at once (`check_lot`). `check_workbook` is a lot of one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import eligibility, isolation
from . import rules as rules_mod
from .anomalies import Anomalies
from .checks import run_checks
from .lot import Lot
from .read import read_workbook, report_failure
from .rules import Rules
from .validate import Parsed, Table, validate

VALIDE, A_CORRIGER, ILLISIBLE, DOUBLON = "Valide", "À corriger", "Illisible", "Doublon"


def parse(
    path: Path, rules: Rules | None = None, fichier: str | None = None, skip_ours: bool = False
) -> Parsed:
    """Read and type one workbook. With `rules=None`, the rules are those of the campaign
    the workbook declares when they exist, else those of the latest campaign. With
    `skip_ours`, raises read.OurOutput for a file this tool wrote."""
    fichier = fichier or str(path)
    anomalies = Anomalies(fichier)
    raw = read_workbook(Path(path), anomalies, skip_ours)
    return validate(raw, Parsed(Path(path), fichier, anomalies), rules or _rules_of_campaign)


def _rules_of_campaign(campagne: object) -> Rules:
    if isinstance(campagne, int) and campagne in rules_mod.campagnes_connues():
        return rules_mod.for_campagne(campagne)
    return rules_mod.latest()


def check_lot(parsed: list[Parsed], rules: Rules) -> Lot:
    """Checks across rows and sheets, eligibility and its messages, for the whole lot."""
    lot = Lot.of(parsed, rules)
    run_checks(lot)
    result = eligibility.compute(lot)
    eligibility.rejection_anomalies(result, lot)
    eligibility.warnings(result, lot)
    lot.eligibilite = result
    return lot


def statut(classeur) -> str:
    if not classeur.lisible:
        return ILLISIBLE
    return A_CORRIGER if classeur.anomalies.bloquantes else VALIDE


@dataclass
class TableView:
    """One workbook's table within a lot: its rows, and where its columns are."""

    table: Table
    frame: pd.DataFrame

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def letters(self) -> dict[str, str]:
        return self.table.letters

    def cell(self, key: str, ligne: int) -> str:
        return self.table.cell(key, ligne)


class Classeur:
    """One checked workbook, as `verifier` and the tests see it (a view on its lot)."""

    def __init__(self, lot: Lot, i: int = 0):
        self.lot, self.i = lot, i
        self.parsed = lot.parsed[i]

    def __getattr__(self, name: str):  # path, fichier, anomalies, format, sha256, raw…
        return getattr(self.parsed, name)

    @property
    def tables(self) -> dict[str, TableView]:
        return {key: self.table(key) for key in self.parsed.tables}

    def table(self, key: str) -> TableView:
        frame = self.lot.tables[key]
        mine = frame.loc[frame["id"] == self.i] if len(self.lot) > 1 else frame
        table = self.parsed.tables.get(key) or Table(frame_sheet(key), "")
        return TableView(table, mine)

    @property
    def eligibilite(self):
        result = self.lot.eligibilite
        if result is None or len(self.lot) == 1:
            return result
        return eligibility.Eligibilite(result.lines.loc[result.lines["id"] == self.i])


def frame_sheet(key: str):
    from .schema import BY_KEY

    return BY_KEY[key]


def check_workbook(
    path: Path,
    rules: Rules | None = None,
    fichier: str | None = None,
    pool: isolation.Pool | None = None,
) -> tuple[Classeur, Rules]:
    """Read one workbook in a child process (a worker of `pool`, or one started for it:
    isolation.py), then check it here (see `parse` for the choice of rules). Never raises
    on bad input: a reading that runs out of memory, overruns or dies is FIC-RESSOURCES,
    an unexpected error is reported on the file, as the batch does."""
    fichier = fichier or str(path)
    try:
        parsed = isolation.call(parse, Path(path), rules, fichier, pool=pool)
    except isolation.Contained as contained:
        parsed = Parsed(Path(path), fichier, Anomalies(fichier))
        report_failure(parsed.anomalies, contained.failure)
    except Exception as error:
        parsed = _failed(path, fichier, error)
    try:
        applied = rules or rules_mod.for_campagne(parsed.campagne or rules_mod.latest().campagne)
        return Classeur(check_lot([parsed], applied)), applied
    except Exception as error:
        applied = rules or rules_mod.latest()
        return Classeur(check_lot([_failed(path, fichier, error)], applied)), applied


def _failed(path: Path, fichier: str, error: Exception) -> Parsed:
    failed = Parsed(Path(path), fichier, Anomalies(fichier))
    failed.anomalies.add("FIC-CORROMPU", detail=f"erreur interne {type(error).__name__} : {error}")
    return failed
