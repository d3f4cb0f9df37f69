"""python -m tests.fuzz: run a campaign and print its totals (see docs/fuzzing.md)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .campaign import Campaign, Config, format_report
from .mutators import FAMILIES
from .oracle import GiB


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    p.add_argument("--duration", type=float, default=60, help="seconds of mutants (60)")
    p.add_argument("--iterations", type=int, help="a fixed number of mutants instead")
    p.add_argument("--out", type=Path, help="output folder (default: a temporary one)")
    cache = Path(tempfile.gettempdir()) / "mentorat-fuzz-cache"
    p.add_argument("--cache", type=Path, default=cache, help="seeds and conversions kept here")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--mode", choices=["fork", "exec"], default="fork")
    p.add_argument("--timeout", type=float, default=10, help="seconds per verifier (10)")
    p.add_argument("--memory", type=float, default=1, help="GiB of address space (1)")
    p.add_argument("--bilan-every", type=int, default=100, help="mutants per round (100)")
    p.add_argument("--bilan-files", type=int, default=20)
    p.add_argument("--families", nargs="+", choices=sorted(FAMILIES))
    p.add_argument("--minimise-seconds", type=float, default=60)
    p.add_argument("--no-confirm", action="store_true", help="skip the exec re-runs")
    p.add_argument("--no-soffice", action="store_true", help="no .ods/.xls seeds")
    a = p.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="fuzz-"))
    config = Config(
        out=out, cache=a.cache, seed=a.seed, duration=a.duration, iterations=a.iterations,
        jobs=a.jobs, mode=a.mode, timeout=a.timeout, memory=int(a.memory * GiB),
        bilan_every=a.bilan_every, bilan_files=a.bilan_files, families=a.families,
        minimise_seconds=a.minimise_seconds, confirm=not a.no_confirm,
        soffice=not a.no_soffice,
    )  # fmt: skip
    report = Campaign(config).run()
    print(format_report(report))
    print(f"Reproducers and report: {out}")
    return 1 if report.uncontained else 0


if __name__ == "__main__":
    sys.exit(main())
