#!/usr/bin/env python3
"""Profile of `bilan` in two parts (see docs/performance.md), with cProfile:

    python scripts/profile_bilan.py /tmp/mentorat-banc-500 [--nombre 200] [--campagne 2025]

- a worker's reading and typing of 40 workbooks, by own time;
- the main process: one lot of N workbooks checked, then the bilan written, by
  cumulative time.

With `--parties`, no profiler: the CPU time of each part per workbook (best of 3 runs
over N workbooks, files in the disk cache), the floor (python-calamine alone) first.

With `--phases`, the wall time of a whole folder's batch with --jobs 1 and 2 (not only N
workbooks), in phases: reading and checking until the last workbook arrives, the last lot
and duplicates, then the bilan written (the part that --jobs 2 does not overlap).

The folder is one of scripts/bench.py's (benchmark-size workbooks).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import pickle
import pstats
import tempfile
import time
from pathlib import Path

from mentorat_budget import read
from mentorat_budget import rules as rules_mod
from mentorat_budget.anomalies import Anomalies
from mentorat_budget.batch import discover, mark_duplicates, parse_one, results_of, tune_gc
from mentorat_budget.validate import Parsed, validate
from mentorat_budget.verify import check_lot
from mentorat_budget.write.bilan import Run, write_bilan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier", type=Path)
    parser.add_argument("--nombre", type=int, default=200)
    parser.add_argument("--campagne", type=int, default=2025)
    parser.add_argument("--parties", action="store_true", help="CPU time per part, no profiler")
    parser.add_argument("--phases", action="store_true", help="wall time per phase, whole folder")
    args = parser.parse_args()
    tune_gc()  # as the bilan does
    rules = rules_mod.for_campagne(args.campagne)
    files = discover([args.dossier])[: args.nombre]
    if args.parties:
        parts(files, rules, args.dossier)
        return
    if args.phases:
        for jobs in (1, 2):
            phases(args.dossier, jobs)
        return

    profile = cProfile.Profile()
    profile.enable()
    for path, shown in files[:40]:
        parse_one(path, shown, rules)
    profile.disable()
    print("=== un processus de lecture : 40 classeurs lus et typés (temps propre)")
    pstats.Stats(profile).sort_stats("tottime").print_stats(10)

    parsed = [parse_one(path, shown, rules) for path, shown in files]
    profile = cProfile.Profile()
    profile.enable()
    results = results_of(check_lot(parsed, rules))
    mark_duplicates(results)
    write_bilan(Path(tempfile.mkdtemp()) / "bilan.xlsx", results, rules, Run([str(args.dossier)]))
    profile.disable()
    print(f"=== processus principal : un lot de {len(files)} classeurs, puis le bilan (cumulé)")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(r"mentorat_budget|close", 14)


def phases(folder: Path, jobs: int) -> None:
    from mentorat_budget import batch

    files = discover([folder])
    start = time.perf_counter()
    last = [start]
    add = batch._Stream.add

    def timed_add(self, parsed) -> None:
        last[0] = time.perf_counter()
        add(self, parsed)

    batch._Stream.add = timed_add
    try:
        results, applied = batch.run_batch(files, None, jobs)
    finally:
        batch._Stream.add = add
    checked = time.perf_counter()
    write_bilan(Path(tempfile.mkdtemp()) / "bilan.xlsx", results, applied, Run([str(folder)]))
    end = time.perf_counter()
    print(
        f"--jobs {jobs}, {len(files)} classeurs : lecture et contrôles jusqu'au dernier "
        f"{last[0] - start:.2f} s ; dernier lot et doublons {checked - last[0]:.2f} s ; "
        f"écriture du bilan {end - checked:.2f} s ; total {end - start:.2f} s"
    )


def parts(files: list[tuple[Path, str]], rules, folder: Path) -> None:
    import python_calamine

    n = len(files)
    data = {path: path.read_bytes() for path, _ in files}

    def best(run, prepare=lambda: None) -> float:
        """CPU ms per workbook of run(prepare()), best of 3; prepare is not timed."""
        times = []
        for _ in range(3):
            given = prepare()
            start = time.process_time()
            run(given)
            times.append(time.process_time() - start)
        return 1000 * min(times) / n

    def floor(_) -> None:
        for path, _shown in files:
            book = python_calamine.CalamineWorkbook.from_path(str(path))
            for name in book.sheet_names:
                book.get_sheet_by_name(name).to_python()

    def calamine(_) -> None:  # the sheets the bilan reads, as read.py asks for them
        for path, _shown in files:
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data[path]))
            for name in book.sheet_names:
                if read.schema_key(name):
                    sheet = book.get_sheet_by_name(name)
                    sheet.to_python(skip_empty_area=False)
                    list(sheet.merged_cell_ranges or [])

    def check(_) -> None:
        for path, shown in files:
            read._check_zip(data[path], Anomalies(shown), read.schema_key, True)
            hashlib.sha256(data[path]).hexdigest()

    raws = [(p, s, read.read_workbook(p, Anomalies(s))) for p, s in files]

    def typing(_) -> None:
        for path, shown, raw in raws:
            validate(raw, Parsed(path, shown, Anomalies(shown)), rules)

    parsed = [parse_one(path, shown, rules) for path, shown in files]
    blobs = [pickle.dumps(p) for p in parsed]
    copies = lambda: [pickle.loads(b) for b in blobs]  # noqa: E731 (a lot is checked once)
    results = results_of(check_lot(copies(), rules))
    mark_duplicates(results)
    pickling = best(lambda _: [pickle.dumps(p) for p in parsed]) + best(lambda _: copies())
    rows = [
        ("python-calamine, toutes les feuilles (plancher)", best(floor)),
        ("lecture : calamine, feuilles lues par le bilan", best(calamine)),
        ("lecture : contrôle avant lecture, empreinte", best(check)),
        ("lecture : typage (validate)", best(typing)),
        (
            "principal : contrôles du lot, résultats",
            best(lambda lot: results_of(check_lot(lot, rules)), copies),
        ),
        (
            "principal : écriture du bilan",
            best(
                lambda _: write_bilan(
                    Path(tempfile.mkdtemp()) / "bilan.xlsx", results, rules, Run([])
                )
            ),
        ),
    ]
    print(f"{n} classeurs de {folder}, temps CPU par classeur (meilleur de 3) :")
    for label, ms in rows:
        print(f"  {label:<50} {ms:6.2f} ms")
    print(f"  {'total, plancher exclu':<50} {sum(ms for _, ms in rows[1:]):6.2f} ms")
    print(f"  {'envoi au processus principal (--jobs 2, pickle)':<50} {pickling:6.2f} ms")


if __name__ == "__main__":
    main()
