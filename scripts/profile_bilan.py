#!/usr/bin/env python3
"""Profile of `bilan` in two parts (see docs/performance.md), with cProfile:

    python scripts/profile_bilan.py /tmp/mentorat-banc-500 [--nombre 200] [--campagne 2025]

- a worker's reading and typing of 40 workbooks, by own time;
- the main process: one lot of N workbooks checked, then the bilan written, by
  cumulative time.

The folder is one of scripts/bench.py's (benchmark-size workbooks).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from pathlib import Path

from mentorat_budget import rules as rules_mod
from mentorat_budget.batch import discover, mark_duplicates, parse_one, results_of, tune_gc
from mentorat_budget.verify import check_lot
from mentorat_budget.write.bilan import Run, write_bilan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dossier", type=Path)
    parser.add_argument("--nombre", type=int, default=200)
    parser.add_argument("--campagne", type=int, default=2025)
    args = parser.parse_args()
    tune_gc()  # as the bilan does
    rules = rules_mod.for_campagne(args.campagne)
    files = discover([args.dossier])[: args.nombre]

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


if __name__ == "__main__":
    main()
