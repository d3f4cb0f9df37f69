#!/usr/bin/env python3
"""Benchmark of `bilan` against the raw read of the sheets it reads (SPEC §8).

    python scripts/bench.py 2000 [--paliers 250,500,1000,2000] [--dossier /tmp/banc-2000]
                                 [--graine 2024] [--repetitions 3] [--pandas]

Generates N benchmark-size workbooks with `mentorat-budget exemples --taille banc` (kept in
the folder for the next run): 120 students, 40 mentors, 6 partners, 300 expenses and 400
meetings each, with the density of mistakes of a real campaign (examples.BENCH_HABITS).
Then, for each size of the ladder (the first N workbooks, by name), in one run on this
machine:

- the floor: python-calamine alone reading the seven data sheets (not Notice, Listes or
  Synthèse), in one process, every cell of each;
- `mentorat-budget bilan --jobs 1` and `--jobs 2` (wall time of the whole command,
  interpreter start included);

and prints each per workbook, as a ratio to the floor, with the peak memory of the
command: its processes' proportional set sizes (PSS, from /proc/PID/smaps_rollup: a page
shared by the main process and its forked workers counts once in all) summed and sampled
every 20 ms, and the resident peak of its largest process (ru_maxrss from wait4). Last,
the corpus's density as the largest bilan states it: anomalies and rejected lines per
workbook. With `--repetitions N`, each measure is taken N times and the fastest is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

LADDER = (250, 500, 1000, 2000)


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(c) for c in f.read().split()]
    return found


def _memory_kib(pid: int) -> int:
    """PSS of a process (RSS where smaps_rollup is missing), in KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def tree_memory_kib(pid: int) -> int:
    """The PSS of a process and all its descendants, summed (Linux)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += _memory_kib(p)
            todo += _children(p)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue  # a worker that just ended
    return total


def run_measured(cmd: list[str]) -> tuple[float, int, int]:
    """Wall seconds, peak summed PSS (KiB) of the command's process tree, and the largest
    resident size of one of its processes (KiB, wait4)."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        peak, done = 0, threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_memory_kib(proc.pid))
                done.wait(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 1):
            err.seek(0)
            sys.exit(f"échec de {' '.join(cmd)} :\n{err.read().decode()}")
    return elapsed, peak, usage.ru_maxrss


def in_process(code: str, folder: Path) -> float:
    """Seconds a snippet takes over every workbook of the folder, in a fresh interpreter
    (the imports and the list of sheets before the clock starts)."""
    script = (
        "import sys, time\nfrom pathlib import Path\n"
        "files = sorted(Path(sys.argv[1]).glob('*.xlsx'))\n"
        f"{code}\n"
        "t = time.perf_counter()\nfor f in files:\n    read(f)\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(folder)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


# The sheets the bilan reads: the schema's seven (not Notice, Listes or Synthèse).
CALAMINE = """
import python_calamine
from mentorat_budget.schema import SHEETS
NAMES = [s.name for s in SHEETS]
def read(f):
    book = python_calamine.CalamineWorkbook.from_path(str(f))
    for name in NAMES:
        book.get_sheet_by_name(name).to_python(skip_empty_area=False)
"""
PANDAS = """
import pandas
def read(f):
    pandas.read_excel(f, sheet_name=None, engine="openpyxl")
"""


def ensure_workbooks(n: int, folder: Path, seed: int) -> None:
    have = len(list(folder.glob("*.xlsx"))) if folder.exists() else 0
    if have == n:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.xlsx"):
        old.unlink()
    print(f"Génération de {n} classeurs de banc d'essai dans {folder}…", flush=True)
    command = [sys.executable, "-m", "mentorat_budget", "exemples", str(folder)]
    command += ["--nombre", str(n), "--graine", str(seed), "--taille", "banc"]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def first_files(folder: Path, size: int, work: Path) -> Path:
    """A folder of links to the first `size` workbooks (by name) of the corpus."""
    subset = work / f"lot-{size}"
    subset.mkdir()
    for f in sorted(folder.glob("*.xlsx"))[:size]:
        (subset / f.name).symlink_to(f.resolve())
    return subset


def density(bilan: Path) -> tuple[int, float, float]:
    """(workbooks, anomalies per workbook, rejected lines per workbook) as the bilan
    states them: the Établissements' totals of the three severities, and the Contrôles'
    count of lines rejected in whole or in part."""
    import python_calamine

    book = python_calamine.CalamineWorkbook.from_path(str(bilan))
    rows = book.get_sheet_by_name("Établissements").to_python()
    headers, total = rows[0], rows[-1]
    n = len(rows) - 2
    severities = ("Anomalies bloquantes", "Avertissements", "Informations")
    anomalies = sum(total[headers.index(h)] for h in severities)
    controls = {r[0]: r[1] for r in book.get_sheet_by_name("Contrôles").to_python() if r}
    rejected = next(v for k, v in controls.items() if str(k).startswith("Lignes rejetées"))
    return n, anomalies / n, rejected / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nombre", type=int, nargs="?", default=2000)
    parser.add_argument("--dossier", type=Path, default=None)
    parser.add_argument("--graine", type=int, default=2024)
    parser.add_argument("--pandas", action="store_true", help="also time pandas/openpyxl")
    parser.add_argument(
        "--repetitions",
        type=int,
        default=1,
        metavar="N",
        help="take each measure N times, keep the fastest (this machine varies by 10 to "
        "20 %% from one run to the next)",
    )
    parser.add_argument(
        "--paliers",
        default="",
        metavar="250,500,…",
        help="the sizes timed (default: those of 250, 500, 1000, 2000 up to N, and N)",
    )
    args = parser.parse_args()
    n = args.nombre
    folder = args.dossier or Path(tempfile.gettempdir()) / f"mentorat-banc-{n}"
    ensure_workbooks(n, folder, args.graine)
    sizes = (
        [int(x) for x in args.paliers.split(",")]
        if args.paliers
        else sorted({s for s in LADDER if s < n} | {n})
    )
    runs = max(1, args.repetitions)
    print(
        f"Machine : {platform.machine()}, {os.cpu_count()} cœurs, Python "
        f"{platform.python_version()} ; classeurs de {folder}"
        + (f" ; meilleur de {runs} passages" if runs > 1 else "")
    )
    work = Path(tempfile.mkdtemp(prefix="mentorat-banc-"))
    print(
        f"{'classeurs':>9}  {'plancher':>8}  {'bilan --jobs 1':^33}  {'bilan --jobs 2':^33}\n"
        f"{'':>9}  {'ms/cl.':>8}  "
        + f"{'ms/cl.':>8} {'× plancher':>10} {'mémoire':>7} {'1 proc.':>7}  "
        * 2
    )
    largest = None
    for size in sizes:
        subset = first_files(folder, size, work)
        floor = min(in_process(CALAMINE, subset) for _ in range(runs))
        line = f"{size:>9}  {1000 * floor / size:8.2f}"
        for jobs in (1, 2):
            out = work / f"bilan-{size}-{jobs}.xlsx"
            cmd = [sys.executable, "-m", "mentorat_budget", "bilan", str(subset)]
            cmd += ["-o", str(out), "--jobs", str(jobs)]
            measured = [run_measured(cmd) for _ in range(runs)]
            t = min(m[0] for m in measured)
            peak, biggest = max(m[1] for m in measured), max(m[2] for m in measured)
            line += (
                f"  {1000 * t / size:8.2f} {t / floor:10.2f} {peak / 1024:7.0f} "
                f"{biggest / 1024:7.0f}"
            )
        largest = work / f"bilan-{size}-1.xlsx"
        print(line, flush=True)
    if args.pandas:
        subset = work / f"lot-{sizes[-1]}"
        t = in_process(PANDAS, subset)
        print(f"pandas.read_excel(engine='openpyxl') : {1000 * t / sizes[-1]:.1f} ms/classeur")
    if largest is not None:
        count, anomalies, rejected = density(largest)
        print(
            f"Densité d'erreurs du corpus (bilan des {count} classeurs) : {anomalies:.1f} "
            f"anomalies et {rejected:.1f} lignes de dépenses rejetées par classeur"
        )
    print(
        "Mémoire (Mio) : pic de la somme des PSS des processus de la commande (échantillonnée "
        "toutes les 20 ms) ; 1 proc. : pic résident du plus gros processus (wait4)."
    )


if __name__ == "__main__":
    main()
