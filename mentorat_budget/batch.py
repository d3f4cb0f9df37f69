"""Many files -> one result: discovery, parallel checking, duplicates, campaign.

Each workbook is processed independently (in a worker process with `jobs > 1`) into a
compact `Resultat`; one bad file never stops the batch. Results come back in path
order, where the first workbook of a UAI wins and the later ones become `Doublon`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import eligibility, figures
from .anomalies import Anomalies, Anomaly, Gravite
from .read import SUFFIXES
from .rules import Rules, campagnes_connues, for_campagne
from .verify import DOUBLON, ILLISIBLE, check_workbook, statut
from .write.xlsx import ANNOTATED_PROPERTY, OUTPUT_PROPERTY

IDENTITY_KEYS = (
    "uai",
    "nom",
    "academie",
    "campagne",
    "eleves_prevus",
    "dotation",
    "report",
    "poursuite",
    "date_arrete",
)


@dataclass
class Resultat:
    """What the bilan needs of one workbook: small, picklable, no DataFrame."""

    path: Path
    fichier: str  # as shown to the user: relative to the folder given
    sha256: str = ""
    statut: str = ILLISIBLE
    campagne: int | None = None  # of the rules applied
    etablissement: dict = field(default_factory=dict)
    figures: figures.Figures | None = None
    partenaires: list[dict] = field(default_factory=list)
    rejets: list[dict] = field(default_factory=list)
    anomalies: list[Anomaly] = field(default_factory=list)
    codes_personnels: set[str] = field(default_factory=set)
    uai_lieu: tuple[str, str] = ("Établissement", "")  # the user's sheet name, UAI cell
    report_lieu: tuple[str, str] = ("Établissement", "")  # and the report's cell
    report_attendu: int | None = None  # from last year's bilan (bilan --precedent)
    ignore: bool = False  # one of our own outputs
    annote: Path | None = None

    @property
    def uai(self) -> str | None:
        return self.etablissement.get("uai")

    @property
    def bloquantes(self) -> int:
        return sum(1 for a in self.anomalies if a.gravite is Gravite.BLOQUANT)

    @property
    def in_totals(self) -> bool:
        return self.figures is not None and self.statut != DOUBLON


# ------------------------------------------------------------------- discovery


def is_our_output(path: Path) -> bool:
    """A workbook this tool wrote: a bilan, fiche or notification, or an annotated copy."""
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("docProps/custom.xml")
            if info.file_size > 1_000_000:
                return False
            custom = archive.read(info)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, RuntimeError):
        return False
    return OUTPUT_PROPERTY.encode() in custom or ANNOTATED_PROPERTY.encode() in custom


def discover(folders: Iterable[Path], exclude: Iterable[Path] = ()) -> list[tuple[Path, str]]:
    """Every spreadsheet under the folders, recursively, in path order.

    Lock files (`~$x.xlsx`, `.~lock.x.ods#`), hidden files and the excluded paths (the
    outputs of this run) are skipped. Returns (path, name shown to the user): the path
    relative to its folder, prefixed by the folder's name when there are several.
    """
    folders = [Path(f) for f in folders]
    excluded = {Path(p).resolve() for p in exclude}
    found: dict[Path, str] = {}
    for folder in folders:
        candidates = [folder] if folder.is_file() else sorted(folder.rglob("*"))
        for path in candidates:
            if path.name.startswith(("~$", ".")) or path.suffix.lower() not in SUFFIXES:
                continue
            resolved = path.resolve()
            if not path.is_file() or resolved in excluded or excluded & set(resolved.parents):
                continue
            if folder.is_file():
                shown = path.as_posix()
            else:
                shown = path.relative_to(folder).as_posix()
                if len(folders) > 1:
                    shown = f"{folder.name}/{shown}"
            found.setdefault(resolved, shown)
    return sorted(found.items(), key=lambda item: item[1])


# ------------------------------------------------------------------ one workbook


def process(path: Path, fichier: str, rules: Rules | None, annoter: Path | None) -> Resultat:
    """Check one workbook and reduce it to its `Resultat`. Never raises on bad input."""
    result = Resultat(Path(path), fichier)
    if is_our_output(path):
        result.ignore = True
        return result
    try:
        classeur, applied = check_workbook(path, rules, fichier)
    except Exception as error:  # a bug must not stop the batch: report it on the file
        anomalies = Anomalies(fichier)
        anomalies.add("FIC-CORROMPU", detail=f"erreur interne {type(error).__name__} : {error}")
        result.anomalies = list(anomalies)
        return result
    result.sha256 = classeur.sha256 or _sha256(path)
    result.statut = statut(classeur)
    result.anomalies = list(classeur.anomalies)
    result.campagne = applied.campagne
    if classeur.lisible:
        result.etablissement = {k: classeur.etablissement.get(k) for k in IDENTITY_KEYS}
        sheet, cells = classeur.etablissement_sheet, classeur.etablissement_cells
        result.uai_lieu = (sheet, cells.get("uai", ""))
        result.report_lieu = (sheet, cells.get("report", ""))
        lines = classeur.eligibilite
        result.figures = figures.compute(classeur, lines, applied)
        result.partenaires = _partners(classeur, lines)
        result.rejets = _rejets(classeur, lines)
        result.codes_personnels = figures.personal_codes(classeur)
    if annoter is not None and classeur.anomalies:
        result.annote = _annotate(classeur, annoter)
    return result


def _partners(classeur, result: eligibility.Eligibilite) -> list[dict]:
    lines = result.lines
    paid = lines.loc[lines["partenaire"].notna()].groupby("partenaire")
    eligible, ineligible = paid["eligible"].sum(), paid["ineligible"].sum()
    rows = []
    for p in classeur.table("partenaires").frame.to_dict("records"):
        code = p["code"]
        if code is None or code != code:
            continue
        rows.append(
            {
                **{k: (None if v is None or v != v else v) for k, v in p.items()},
                "verse_eligible": int(eligible.get(code, 0)),
                "verse_ineligible": int(ineligible.get(code, 0)),
            }
        )
    return rows


def _rejets(classeur, result: eligibility.Eligibilite) -> list[dict]:
    """The rejected parts, each with the cell of its amount in the user's own sheet."""
    keep = [
        "ligne",
        "piece",
        "date",
        "categorie",
        "libelle",
        "paye_a",
        "mentor",
        "montant",
        "code",
        "cents",
    ]
    table = classeur.table("depenses")
    rows = []
    for row in result.rejets[keep].to_dict("records"):
        row = {k: (None if v is None or v != v else v) for k, v in row.items()}
        row["cellule"] = f"{table.name}!{table.cell('montant', row['ligne'])}"
        rows.append(row)
    return rows


def _sha256(path: Path) -> str:
    """The file's fingerprint, read in blocks (also for files refused before parsing)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def annotated_name(fichier: str) -> str:
    """`sous/x.xlsx` -> `sous__x-annote.xlsx`; `x.ods` -> `x-ods-annote.xlsx` (no clash)."""
    path = Path(fichier)
    stem = path.with_suffix("").as_posix().replace("/", "__")
    kind = path.suffix.lower().lstrip(".")
    return f"{stem}-annote.xlsx" if kind == "xlsx" else f"{stem}-{kind}-annote.xlsx"


def _annotate(classeur, folder: Path) -> Path | None:
    from .write.annotate import annotate

    target = Path(folder) / annotated_name(classeur.fichier)
    try:
        annotate(classeur.path, target, classeur.anomalies, classeur.raw)
    except Exception:  # the copy is a courtesy: the bilan goes on
        return None
    return target


# ----------------------------------------------------------------------- batch


def _worker(args: tuple) -> Resultat:
    return process(*args)


def _run(tasks: list[tuple], jobs: int, progress: Callable[[int], None]) -> Iterator[Resultat]:
    if jobs <= 1 or len(tasks) <= 1:
        for task in tasks:
            yield _worker(task)
            progress(1)
        return
    chunk = max(1, min(16, len(tasks) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for result in pool.map(_worker, tasks, chunksize=chunk):
            yield result
            progress(1)


def majority_campaign(results: list[Resultat]) -> int | None:
    declared = Counter(r.etablissement.get("campagne") for r in results if r.etablissement)
    known = set(campagnes_connues())
    for campagne, _ in declared.most_common():
        if campagne in known:
            return campagne
    return None


def run_batch(
    files: list[tuple[Path, str]],
    rules: Rules | None,
    jobs: int,
    annoter: Path | None = None,
    progress: Callable[[int], None] = lambda n: None,
) -> tuple[list[Resultat], Rules]:
    """Process every file; returns the results in path order and the rules applied.

    Without `rules`, each workbook is first read with the rules of the campaign it
    declares; the batch then takes the campaign most workbooks declare, and the few
    read with other rules are read again with those.
    """
    tasks = [(path, shown, rules, annoter) for path, shown in files]
    results = list(_run(tasks, jobs, progress))
    if rules is None:
        campagne = majority_campaign(results) or campagnes_connues()[-1]
        rules = for_campagne(campagne)
        again = [i for i, r in enumerate(results) if r.campagne not in (None, campagne)]
        redo = list(_run([(*tasks[i][:2], rules, annoter) for i in again], jobs, lambda n: None))
        for i, result in zip(again, redo, strict=True):
            results[i] = result
    results = [r for r in results if not r.ignore]
    doublons = mark_duplicates(results)
    if annoter is not None:
        for result in doublons:  # their copy must say they are duplicates
            result.annote = _annotate_again(result, annoter)
    return results, rules


def mark_duplicates(results: list[Resultat]) -> list[Resultat]:
    """The first workbook of a UAI (in path order) is kept; later ones become Doublon."""
    first: dict[str, Resultat] = {}
    doublons = []
    for result in results:
        uai = result.uai
        if not uai or result.figures is None:
            continue
        if uai in first:
            result.statut = DOUBLON
            anomalies = Anomalies(result.fichier)
            anomalies.add("ETA-DOUBLON", *result.uai_lieu, uai, premier=first[uai].fichier)
            result.anomalies.extend(anomalies)
            doublons.append(result)
        else:
            first[uai] = result
    return doublons


def _annotate_again(result: Resultat, folder: Path) -> Path | None:
    from .read import read_workbook
    from .write.annotate import annotate

    target = Path(folder) / annotated_name(result.fichier)
    try:
        raw = read_workbook(result.path, Anomalies(result.fichier))
        annotate(result.path, target, result.anomalies, raw)
    except Exception:  # the copy is a courtesy: the bilan goes on
        return None
    return target


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )


def stderr_is_terminal() -> bool:
    return sys.stderr.isatty()
