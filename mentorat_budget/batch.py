"""Many files -> one result: discovery, parallel checking, duplicates, campaign.

Each workbook is processed independently (in a worker process with `jobs > 1`) into a
compact `Resultat`; one bad file never stops the batch. Results come back in path
order, where the first workbook of a UAI wins and the later ones become `Doublon`.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import eligibility, figures, isolation
from .anomalies import Anomalies, Anomaly, Gravite
from .lot import Lot
from .read import SUFFIXES, OurOutput, report_failure
from .rules import Rules, campagnes_connues, for_campagne
from .validate import Parsed
from .verify import DOUBLON, ILLISIBLE, check_lot, parse, statut

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


def discover(folders: Iterable[Path], exclude: Iterable[Path] = ()) -> list[tuple[Path, str]]:
    """Every spreadsheet under the folders, recursively, in path order.

    Lock files (`~$x.xlsx`, `.~lock.x.ods#`), hidden files and the excluded paths (the
    outputs of this run) are skipped. Returns (path, name shown to the user): the path
    relative to its folder, prefixed by the folder as given when there are several.
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
                if len(folders) > 1:  # the folder as the user gave it: x/lot and y/lot differ
                    shown = f"{folder.as_posix().rstrip('/')}/{shown}"
            found.setdefault(resolved, shown)
    return sorted(found.items(), key=lambda item: item[1])


# --------------------------------------------------------------- reading (workers)


def parse_one(path: Path, fichier: str, rules: Rules | None) -> Parsed | None:
    """Read and type one workbook, in a worker; None for one of our own outputs.

    Never raises on bad input: an unexpected error becomes an anomaly of the file. A
    MemoryError is raised again: the worker is then replaced (isolation.py).
    """
    try:
        parsed = parse(path, rules, fichier, skip_ours=True)
    except OurOutput:  # a bilan, fiche, notification or annotated copy left in a folder
        return None
    except MemoryError:
        raise
    except Exception as error:  # a bug must not stop the batch: report it on the file
        parsed = _failed(path, fichier, isolation.Failure(isolation.ERREUR, _text(error)))
    if not parsed.sha256:
        parsed.sha256 = _sha256(path)
    parsed.raw = None  # the rows are typed: no need to send them back
    return parsed


def _text(error: BaseException) -> str:
    return f"{type(error).__name__} : {error}"


def _failed(path: Path, fichier: str, failure: isolation.Failure) -> Parsed:
    """A workbook whose reading failed: its worker died, overran, or the reader raised."""
    parsed = Parsed(Path(path), fichier, Anomalies(fichier))
    report_failure(parsed.anomalies, failure)
    parsed.sha256 = _sha256(path)
    return parsed


def tune_gc() -> None:
    """For a process that runs a batch to its end (the bilan command, its workers): a
    batch makes millions of small objects that live until the bilan is written (typed
    cells, rows to write) and hardly any cycle; the collector, run every 700 allocations
    by default, would walk them again and again (a fifth of the time spent writing).
    Objects alive now are never collected: call it early."""
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def readers(jobs: int, context: str | None = None) -> isolation.Pool:
    """The pool that reads a batch's workbooks: `jobs` worker processes, each under the
    limits of isolation.Limits.from_environment()."""
    return isolation.Pool(jobs, context=context, setup=tune_gc)


def _read_task(path: Path, fichier: str, rules: Rules | None) -> Parsed | None:
    return parse_one(path, fichier, rules)  # looked up in the worker (tests patch it)


def _parsed(tasks: list[tuple], pool: isolation.Pool, first: bool = False) -> Iterator:
    """parse_one over the tasks, in the pool, in order; a failure is the file's anomaly."""
    for (path, fichier, _rules), value in zip(
        tasks, pool.map(_read_task, tasks, window=2 * CHUNK, first=first), strict=True
    ):
        yield _failed(path, fichier, value) if isinstance(value, isolation.Failure) else value


def majority_campaign(declared: Counter) -> int | None:
    """The known campaign most workbooks declare (declared: campaign -> workbooks)."""
    known = set(campagnes_connues())
    for campagne, _ in declared.most_common():
        if campagne in known:
            return campagne
    return None


# ------------------------------------------------------------ the lot (main process)


def results_of(lot: Lot) -> list[Resultat]:
    """Reduce each checked workbook of the lot to its `Resultat`."""
    result = lot.eligibilite
    all_figures = figures.compute(lot, result)
    codes = figures.personal_codes(lot)
    rejets = _rejets(lot, result)
    partners = _partners(lot, result)
    out = []
    for i, parsed in enumerate(lot.parsed):
        r = Resultat(parsed.path, parsed.fichier, sha256=parsed.sha256, campagne=parsed.campagne)
        r.statut = statut(parsed)
        r.anomalies = list(parsed.anomalies)
        if parsed.lisible:
            r.etablissement = {k: parsed.etablissement.get(k) for k in IDENTITY_KEYS}
            sheet, cells = parsed.etablissement_sheet, parsed.etablissement_cells
            r.uai_lieu = (sheet, cells.get("uai", ""))
            r.report_lieu = (sheet, cells.get("report", ""))
            r.figures = all_figures[i]
            r.rejets, r.partenaires = rejets[i], partners[i]
            r.codes_personnels = codes[i]
        out.append(r)
    return out


def _clean(record: dict) -> dict:
    return {k: (None if v is None or v is pd.NA or v != v else v) for k, v in record.items()}


def _partners(lot: Lot, result: eligibility.Eligibilite) -> list[list[dict]]:
    lines = result.lines
    paid = lines.loc[lines["partenaire"].notna()].groupby(["id", "partenaire"])
    eligible, ineligible = paid["eligible"].sum().to_dict(), paid["ineligible"].sum().to_dict()
    out: list[list[dict]] = [[] for _ in range(len(lot))]
    partners = lot.tables["partenaires"].dropna(subset=["code"])
    for p in partners.to_dict("records"):
        i, code = p.pop("id"), p["code"]
        out[i].append(
            {
                **_clean(p),
                "verse_eligible": int(eligible.get((i, code), 0)),
                "verse_ineligible": int(ineligible.get((i, code), 0)),
            }
        )
    return out


def _rejets(lot: Lot, result: eligibility.Eligibilite) -> list[list[dict]]:
    """Per workbook, the rejected parts, each with the cell of its amount in the user's
    own sheet."""
    keep = [
        "id",
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
    out: list[list[dict]] = [[] for _ in range(len(lot))]
    for row in result.rejets[keep].to_dict("records"):
        i = row.pop("id")
        row = _clean(row)
        sheet, cell = lot.where("depenses", i, "montant", row["ligne"])
        row["cellule"] = f"{sheet}!{cell}"
        out[i].append(row)
    return out


def process(
    path: Path,
    fichier: str,
    rules: Rules | None,
    annoter: Path | None,
    pool: isolation.Pool | None = None,
) -> Resultat:
    """One workbook, read (in a worker of `pool`, or of a pool of its own), checked and
    reduced (a batch of one). Never raises on bad input, never brought down by it."""
    results, _ = run_batch([(Path(path), fichier)], rules, jobs=1, annoter=annoter, pool=pool)
    return results[0] if results else Resultat(Path(path), fichier, ignore=True)


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


def distinct_names(names: list[str]) -> list[str]:
    """File names made distinct by a suffix: a.xlsx, a.xlsx -> a.xlsx, a-2.xlsx."""
    out: list[str] = []
    for name in names:
        candidate, n = name, 1
        while candidate in out:
            n += 1
            stem, dot, suffix = name.rpartition(".")
            candidate = f"{stem}-{n}.{suffix}" if dot else f"{name}-{n}"
        out.append(candidate)
    return out


def annotated_name(fichier: str) -> str:
    """`sous/x.xlsx` -> `sous__x-annote.xlsx`; `x.ods` -> `x-ods-annote.xlsx` (no clash)."""
    path = Path(fichier)
    stem = path.with_suffix("").as_posix().replace("/", "__")
    kind = path.suffix.lower().lstrip(".")
    return f"{stem}-annote.xlsx" if kind == "xlsx" else f"{stem}-{kind}-annote.xlsx"


def _annotate_task(path: Path, anomalies: list[Anomaly], target: Path) -> Path | None:
    """An annotated copy (in a worker); the copy is a courtesy: the bilan goes on."""
    from .write.annotate import annotate

    try:
        annotate(path, target, anomalies, None)
    except MemoryError:
        raise
    except Exception:
        return None
    return target


def _rebuild_task(path: Path, anomalies: list[Anomaly], target: Path) -> Path | None:
    from .write.annotate import rebuilt_copy

    try:
        rebuilt_copy(path, target, anomalies, None)
    except MemoryError:
        raise
    except Exception:
        return None
    return target


def _annotate_all(results: list[Resultat], folder: Path, pool: isolation.Pool) -> None:
    """The copies are made in the workers: openpyxl parses the user's file (untrusted,
    and about 50 times its size in memory)."""
    todo = [r for r in results if r.anomalies]
    # `sous/x.xlsx` and `sous__x.xlsx` would share a name
    names = distinct_names([annotated_name(r.fichier) for r in todo])
    tasks = [
        (r.path, r.anomalies, Path(folder) / name) for r, name in zip(todo, names, strict=True)
    ]
    copies = list(pool.map(_annotate_task, tasks))
    failed = [i for i, copy in enumerate(copies) if isinstance(copy, isolation.Failure)]
    # openpyxl needs some 50 times the file's size: those copies rebuilt from the values
    again = pool.map(_rebuild_task, [tasks[i] for i in failed])
    for i, copy in zip(failed, again, strict=True):
        copies[i] = copy
    for result, copy in zip(todo, copies, strict=True):
        result.annote = None if isinstance(copy, isolation.Failure) else copy


# ----------------------------------------------------------------------- batch


CHUNK = 200  # workbooks checked together while the workers read the next ones


def run_batch(
    files: list[tuple[Path, str]],
    rules: Rules | None,
    jobs: int,
    annoter: Path | None = None,
    progress: Callable[[int], None] = lambda n: None,
    before_copies: Callable[[list[Resultat], Rules], None] | None = None,
    pool: isolation.Pool | None = None,
) -> tuple[list[Resultat], Rules]:
    """Read every file in the worker processes of `pool` (or of a pool of `jobs` of its
    own: isolation.py), check them as lots of CHUNK workbooks in this process while the
    workers read on (with `jobs > 1`, the last ones by quarters of CHUNK); returns the
    results in path order and the rules applied. A file whose worker runs out of memory,
    overruns or dies is reported on its own (FIC-RESSOURCES); the batch goes on.
    `before_copies` adds anomalies found across years (bilan --precedent) before the
    annotated copies are written (in the workers too).

    Without `rules`, each workbook is typed with the rules of the campaign it declares,
    and the lots are checked with those of the campaign most of the first workbooks
    declare. If, at the end, most workbooks declare another campaign, the batch is run
    again with its rules (a folder that mixes campaigns).
    """
    with contextlib.ExitStack() as stack:
        if pool is None:
            pool = stack.enter_context(readers(jobs))
        stream = _Stream(rules, len(files) if jobs > 1 else None, pool)
        for parsed in _parsed([(path, shown, rules) for path, shown in files], pool):
            stream.add(parsed)
            progress(1)
        results = stream.finish()
        final = rules or for_campagne(majority_campaign(stream.declared) or campagnes_connues()[-1])
        if stream.rules is not None and final.campagne != stream.rules.campagne:
            return run_batch(files, final, jobs, annoter, lambda n: None, before_copies, pool)
        mark_duplicates(results)
        if before_copies is not None:
            before_copies(results, final)
        if annoter is not None:
            _annotate_all(results, annoter, pool)
        return results, final


class _Stream:
    """The workbooks as the workers send them back, checked CHUNK at a time (the main
    process works while the workers read). Every check but duplicates is within one
    workbook, so lots of any size give the same results (tested).

    `left`: the files still to come back. Once fewer than CHUNK are left, and the rules are
    chosen, the lots are of a quarter of CHUNK: what the main process still has to check
    when the workers are done (one core idle) is smaller. Without `left` (one process, no
    core to fill), every lot is of CHUNK."""

    def __init__(self, rules: Rules | None, left: int | None, pool: isolation.Pool):
        self.rules, self.left, self.pool = rules, left, pool
        self.pending: list[Parsed] = []
        self.results: list[Resultat] = []
        self.declared: Counter = Counter()  # campaign declared -> workbooks

    def add(self, parsed: Parsed | None) -> None:
        if self.left is not None:
            self.left -= 1
        if parsed is None:  # one of our own outputs
            return
        if parsed.lisible:
            self.declared[parsed.etablissement.get("campagne")] += 1
        self.pending.append(parsed)
        ending = self.rules is not None and self.left is not None and self.left < CHUNK
        if len(self.pending) >= (max(1, CHUNK // 4) if ending else CHUNK):
            self._check()

    def _check(self) -> None:
        if not self.pending:
            return
        if self.rules is None:
            campagne = majority_campaign(self.declared) or campagnes_connues()[-1]
            self.rules = for_campagne(campagne)
        rules = self.rules
        # typed with the rules of another campaign: typed again with these (first in line)
        again = [(p.path, p.fichier, rules) for p in self.pending if self._retype(p)]
        retyped = iter(_parsed(again, self.pool, first=True))
        lot = [next(retyped) if self._retype(p) else p for p in self.pending]
        self.results += _checked([p for p in lot if p is not None], rules)
        self.pending = []

    def _retype(self, parsed: Parsed) -> bool:
        return parsed.lisible and parsed.campagne != self.rules.campagne

    def finish(self) -> list[Resultat]:
        self._check()
        return self.results


def _checked(parsed: list[Parsed], rules: Rules) -> list[Resultat]:
    """The lot checked at once; if that fails, workbook by workbook, so that one
    workbook that trips a bug is reported on its own and never stops the batch."""
    typed = [p.anomalies.mark() for p in parsed]  # the anomalies found while typing
    try:
        lot = check_lot(parsed, rules)
        results = results_of(lot)
        lot.release()
        return results
    except Exception:
        results = []
        for p, found in zip(parsed, typed, strict=True):
            p.anomalies.restore(found)  # what the failed lot added is found again below
            try:
                results += results_of(check_lot([p], rules))
            except Exception as error:
                failed = Resultat(p.path, p.fichier, sha256=p.sha256)
                anomalies = Anomalies(p.fichier)
                anomalies.add(
                    "FIC-CORROMPU", detail=f"erreur interne {type(error).__name__} : {error}"
                )
                failed.anomalies = list(anomalies)
                results.append(failed)
        return results


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


def default_jobs() -> int:
    return (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
