#!/usr/bin/env python3
"""Benchmark of `bilan` against the raw read of the same cells (SPEC §8).

    python scripts/bench.py 500 [--dossier /tmp/banc-500] [--graine 2024]

Generates N benchmark-size workbooks with `mentorat-budget exemples --taille banc`
(kept in the folder for the next run), then, in one run on this machine, times:

- the floor: python-calamine reading every cell of every sheet, one process;
- `pandas.read_excel(engine="openpyxl", sheet_name=None)` of the same files;
- `mentorat-budget bilan --jobs 1` and `--jobs 2` (wall time, whole command);

and prints each time as a ratio to the floor, with the peak memory (RSS summed over
the process and its children, sampled every 20 ms). With `--repetitions N`, the floor
and each bilan are timed N times and the fastest run is kept (pandas runs once).
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


def tree_rss_kib(pid: int) -> int:
    """RSS of a process and all its descendants, from /proc (Linux)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak summed RSS (KiB) of a command and its children."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, tree_rss_kib(proc.pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, err = proc.communicate()
    elapsed = time.perf_counter() - start
    sampler.join()
    if proc.returncode not in (0, 1):
        sys.exit(f"échec de {' '.join(cmd)} :\n{err.decode()}")
    return elapsed, peak


def in_process(code: str, folder: Path) -> tuple[float, int]:
    """Time a snippet over every workbook of the folder, in a fresh interpreter."""
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
    return float(out.stdout.strip()), 0


CALAMINE = """
import python_calamine
def read(f):
    book = python_calamine.CalamineWorkbook.from_path(str(f))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
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
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mentorat_budget",
            "exemples",
            str(folder),
            "--nombre",
            str(n),
            "--graine",
            str(seed),
            "--taille",
            "banc",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nombre", type=int, nargs="?", default=500)
    parser.add_argument("--dossier", type=Path, default=None)
    parser.add_argument("--graine", type=int, default=2024)
    parser.add_argument("--sans-pandas", action="store_true", help="skip the openpyxl run")
    parser.add_argument(
        "--repetitions",
        type=int,
        default=1,
        metavar="N",
        help="time the floor and each bilan N times, keep the fastest (this machine varies "
        "by 10 to 20 %% from one run to the next)",
    )
    parser.add_argument(
        "--paliers",
        default="",
        metavar="250,500,…",
        help="also time bilan --jobs 1 on the first N workbooks, for each N",
    )
    args = parser.parse_args()
    folder = args.dossier or Path(tempfile.gettempdir()) / f"mentorat-banc-{args.nombre}"
    ensure_workbooks(args.nombre, folder, args.graine)
    n = args.nombre
    print(
        f"Machine : {platform.machine()}, {os.cpu_count()} cœurs, Python "
        f"{platform.python_version()} ; {n} classeurs de {folder}"
        + (f" ; meilleur de {args.repetitions} passages" if args.repetitions > 1 else "")
    )

    runs = max(1, args.repetitions)
    floor = min(in_process(CALAMINE, folder)[0] for _ in range(runs))
    rows = [("python-calamine, lecture brute (plancher)", floor, 0)]
    if not args.sans_pandas:
        t, _ = in_process(PANDAS, folder)
        rows.append(("pandas.read_excel(engine='openpyxl')", t, 0))
    out = Path(tempfile.mkdtemp()) / "bilan.xlsx"
    for jobs in (1, 2):
        cmd = [
            sys.executable,
            "-m",
            "mentorat_budget",
            "bilan",
            str(folder),
            "-o",
            str(out),
            "--jobs",
            str(jobs),
        ]
        measured = [run_measured(cmd) for _ in range(runs)]
        t, peak = min(t for t, _ in measured), max(p for _, p in measured)
        rows.append((f"mentorat-budget bilan --jobs {jobs}", t, peak))
    print(
        f"{'mesure':<44} {'secondes':>9} {'ms/classeur':>12} {'× plancher':>11} {'mémoire max':>12}"
    )
    for label, t, peak in rows:
        mem = f"{peak / 1024:.0f} Mio" if peak else ""
        print(f"{label:<44} {t:9.2f} {1000 * t / n:12.1f} {t / floor:11.2f} {mem:>12}")
    if not args.sans_pandas:
        pandas_t = rows[1][1]
        for label, t, _ in rows[2:]:
            print(f"{label} : {pandas_t / t:.1f} × plus rapide que pandas/openpyxl")
    if args.paliers:
        print("Coût par classeur selon la taille du lot (bilan --jobs 1) :")
        files = sorted(folder.glob("*.xlsx"))
        for size in (int(x) for x in args.paliers.split(",")):
            subset = Path(tempfile.mkdtemp())
            for f in files[:size]:
                (subset / f.name).symlink_to(f)
            cmd = [
                sys.executable,
                "-m",
                "mentorat_budget",
                "bilan",
                str(subset),
                "-o",
                str(subset.parent / f"bilan-{size}.xlsx"),
                "--jobs",
                "1",
            ]
            t, peak = run_measured(cmd)
            print(
                f"  {size:>5} classeurs : {t:8.2f} s, {1000 * t / size:6.1f} ms/classeur, "
                f"mémoire max {peak / 1024:.0f} Mio"
            )


if __name__ == "__main__":
    main()
