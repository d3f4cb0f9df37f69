"""A structure-aware fuzzer for the readers (issue 12 §3, SPEC §8 Containment).

It mutates valid workbooks of every format and runs each mutant through the real CLI,
`verifier FILE --json`, in a child process under RLIMIT_AS and a wall-clock limit, and
now and then `bilan --jobs 1` and `--jobs 2` over a folder of recent mutants. Outcomes
are classified (traceback, signal, timeout, exit 2, English text, flood, silent
« Valide »…), deduplicated into classes, and the smallest reproducer of each is kept.

    python -m tests.fuzz --seed 1 --duration 60 --out /tmp/fuzz

Modules, in the order of the data flow:

- seeds.py      the valid workbooks mutated: samples, templates, LibreOffice conversions
- mutators/     one module per family: raw bytes, xlsx (zip + XML), ods, xls (CFB + BIFF)
- oracle.py     running the CLI in a child (a fork server, or exec) and classifying
- campaign.py   the loop: mutants, outcomes, classes, minimisation, bilans, totals

The mutators and the oracle use the standard library only; the seeds are made with the
project's own template writer and LibreOffice. Everything is deterministic for a seed:
mutant number N of seed S is always the same file (see `python -m tests.fuzz --help`).
See docs/fuzzing.md.
"""
