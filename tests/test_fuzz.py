"""The fuzzer of tests/fuzz (issue 12 §3, SPEC §8 Containment), run for about a minute.

The last test is the CI run: a fixed seed, about 60 s of mutants of every family through
`verifier --json` (1 GiB of address space, 10 s per file) and rounds of `bilan --jobs 1`
and `--jobs 2`. It fails on any class of outcome that is not contained: a traceback,
a command killed by a signal or hanging, exit 2, English output, a flood of anomalies,
a bilan not written or missing a file. The other tests check the fuzzer's own parts:
that mutants are reproducible, that the .xls container it writes is read like the
original, and that the oracle classifies what it must.
"""

from __future__ import annotations

import io
import json
import os

import pytest
import python_calamine

from .fuzz import bilans, oracle
from .fuzz.campaign import Campaign, Config, format_report, owner
from .fuzz.mutators import FAMILIES, Mutator, cfb, xls
from .fuzz.oracle import Outcome, classify
from .fuzz.seeds import build_seeds

CI_SEED = 12
CI_SECONDS = 45  # of mutants; seeds, the last round's bilans and the reruns make ~60 s


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    made = build_seeds(tmp_path_factory.mktemp("fuzz-cache"))
    formats = {s.format for s in made}
    if formats != {"xlsx", "ods", "xls"}:
        if os.environ.get("MENTORAT_EXIGER_SOFFICE"):
            pytest.fail("LibreOffice (soffice) est requis pour les graines .ods et .xls")
        pytest.skip("LibreOffice absent : pas de graines .ods et .xls")
    return made


# --------------------------------------------------------------------- mutants


def test_mutants_are_reproducible_and_each_family_mutates(seeds):
    mutator = Mutator(seeds)
    drawn = {}
    for i in range(150):
        mutant = mutator.draw(CI_SEED, i)
        drawn.setdefault(mutant.family, []).append(mutant)
    assert set(drawn) == set(FAMILIES)
    for family, mutants in drawn.items():
        for mutant in mutants[:5]:
            again = mutator.draw(CI_SEED, mutant.index)
            assert (again.name, again.ops, again.data) == (mutant.name, mutant.ops, mutant.data)
            assert mutant.ops, f"{mutant.name}: aucune mutation appliquée"
            assert mutant.data != mutator.data[mutant.seed.name], mutant.name
            replayed = mutator.replay(mutant.seed, family, mutant.ops)
            assert replayed == mutant.data
    assert mutator.errors == {}  # no mutator raised


def test_the_rebuilt_xls_container_is_read_like_the_original(seeds):
    """xls mutations that change the Workbook stream's length write a new compound file:
    calamine must read it as it reads LibreOffice's."""
    seed = next(s for s in seeds if s.name == "valide-lo.xls")
    container = cfb.parse(seed.data)
    entry = container.entry("Workbook")
    stream = container.stream(entry)
    records = xls.records(stream)
    assert xls.serialise(records) == stream
    rebuilt = cfb.build("Workbook", stream)
    original = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(seed.data))
    copy = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(rebuilt))
    assert copy.sheet_names == original.sheet_names
    depenses = copy.get_sheet_by_name("Dépenses").to_python()
    assert depenses == original.get_sheet_by_name("Dépenses").to_python()
    assert depenses[2][4] == 1500  # F001, 1 500,00 € (tests/conftest.py)


def test_a_date_format_is_found_in_each_format(seeds):
    """The mutations aimed at date-formatted cells find them: Dépenses!B is a date."""
    from .fuzz.mutators import xlsx

    for seed in seeds:
        if seed.format == "xlsx":
            assert xlsx.date_styles(seed.data), seed.name
        elif seed.format == "xls":
            container = cfb.parse(seed.data)
            assert xls.date_xfs(xls.records(container.stream(container.entry("Workbook"))))


def test_the_meaning_ops_know_what_verifier_must_answer(seeds, tmp_path):
    """The "meaning" family's expectations hold on a valid workbook (or the oracle would
    report false « silent » classes)."""
    import random

    from .fuzz.mutators import meaning

    seed = next(s for s in seeds if s.name == "valide.xlsx")
    runner = oracle.Runner(tmp_path)
    try:
        base = classify(runner.run(["verifier", str(seed.path), "--json"]))
        for op in ("drop-sheet", "garble-amount", "sheet-order", "sheet-case"):
            for n in range(3):
                data, (what, *detail) = meaning.OPS[op][0](seed.data, random.Random(n))
                path = tmp_path / f"{op}-{n}.xlsx"
                path.write_bytes(data)
                verdict = classify(runner.run(["verifier", str(path), "--json"]))
                assert verdict.ok, (op, verdict.key)
                if what == "not-valide":
                    assert verdict.statut == "À corriger", detail
                    assert "FEU-MANQUANTE" in verdict.codes
                elif what == "anomaly-at":
                    assert tuple(detail) in verdict.cells and "VAL-MONTANT" in verdict.codes
                else:
                    assert (verdict.statut, sorted(verdict.codes)) == (
                        base.statut, sorted(base.codes)), detail  # fmt: skip
    finally:
        runner.close()


# ---------------------------------------------------------------------- oracle


def _json(statut="Valide", anomalies=(), bloquantes=0) -> bytes:
    report = {"fichier": "f.xlsx", "statut": statut, "bloquantes": bloquantes,
              "anomalies": list(anomalies)}  # fmt: skip
    return json.dumps(report, ensure_ascii=False).encode()


def _anomaly(code="VAL-LISTE", feuille="Rencontres", message="valeur « x » hors liste"):
    return {"fichier": "f.xlsx", "feuille": feuille, "cellule": "D3", "gravite": "Bloquant",
            "code": code, "message": message, "valeur": "x"}  # fmt: skip


PANIC = b"""thread '<unnamed>' panicked at /root/.cargo/registry/src/index.crates.io-6f17d22bba15001f/chrono-0.4.38/src/lib.rs:717:5:
TimeDelta::milliseconds out of bounds
Traceback (most recent call last):
  File "/w/mentorat_budget/cli.py", line 193, in verifier
    classeur, _ = check_workbook(fichier, chosen)
  File "/w/mentorat_budget/read.py", line 601, in _read
    rows = sheet.to_python(skip_empty_area=False)
pyo3_runtime.PanicException: TimeDelta::milliseconds out of bounds
"""  # noqa: E501
ABORT = b"""memory allocation of 436207616 bytes failed
Fatal Python error: Aborted

Current thread 0x00007f (most recent call first):
  File "/w/mentorat_budget/read.py", line 563, in _read
  File "/w/mentorat_budget/read.py", line 378, in read_workbook
"""


def test_the_oracle_names_the_class_of_each_failure():
    cases = [
        (Outcome([], 1, stderr=PANIC), "traceback:PanicException@read.py:_read[chrono/lib.rs:717]"),
        (Outcome([], -6, stderr=ABORT), "signal:SIGABRT@read.py:_read[allocation]"),
        (Outcome([], None, timed_out=True, stderr=ABORT), "timeout@read.py:_read"),
        (Outcome([], 2, stderr=b"Erreur : copie annot\xc3\xa9e impossible 3"),
         "exit2:Erreur : copie annotée impossible N"),
        (Outcome([], 0, stdout=b"{"), "bad-json"),
        (Outcome([], 0, stdout=_json(), stderr=b"UserWarning: Data Validation extension is "
                 b"not supported and will be removed"),
         "english:UserWarning: Data Validation extension is not supported and"),
        (Outcome([], 1, stdout=_json("À corriger", [_anomaly()] * 52, 52)), "flood:repeated-code"),
        (Outcome([], 0, stdout=_json("À corriger", [_anomaly()], 1)), "exit-mismatch:0:À corriger"),
        (Outcome([], 1, stdout=_json("Illisible", [_anomaly(
            "FIC-CORROMPU", "", "erreur interne KeyError : 'x'")], 1)), "internal-error:KeyError"),
        (Outcome([], 1, stdout=_json("À corriger", [_anomaly(message="the value is invalid")], 1)),
         "english-message:VAL-LISTE:the"),
    ]  # fmt: skip
    assert [classify(o).key for o, _ in cases] == [key for _, key in cases]
    assert classify(cases[6][0]).detail == "52 anomalies VAL-LISTE sur « Rencontres »"
    # contained: the file is Illisible with FIC-RESSOURCES, 50 repeats then one summary
    contained = _json("Illisible", [_anomaly("FIC-RESSOURCES", "", "mémoire épuisée")], 1)
    verdict = classify(Outcome([], 1, stdout=contained))
    assert (verdict.kind, verdict.statut, verdict.codes) == ("ok", "Illisible", ["FIC-RESSOURCES"])
    capped = _json("À corriger", [_anomaly()] * 51, 51)
    assert classify(Outcome([], 1, stdout=capped)).ok
    assert owner("traceback:PanicException@read.py:_read") == "contain: isolation (FIC-RESSOURCES)"


def test_the_fork_server_runs_the_cli_under_the_limits(seeds, tmp_path):
    """A child of the fork server is the CLI: same answer as exec, and the limits hold
    (a command asking for more than its address space dies or fails, never the server)."""
    runner = oracle.Runner(tmp_path, timeout=20)
    try:
        seed = next(s for s in seeds if s.name == "valide.xlsx")
        by_fork = runner.run(["verifier", str(seed.path), "--json"])
        by_exec = runner.run(["verifier", str(seed.path), "--json"], mode="exec")
        assert (by_fork.returncode, by_fork.stdout) == (by_exec.returncode, by_exec.stdout)
        assert json.loads(by_fork.stdout)["statut"] == "Valide"
        tight = oracle.Runner(tmp_path, memory=64 * 1024 * 1024)  # below what pandas needs
        starved = tight.run(["verifier", str(seed.path), "--json"])
        tight.close()
        assert not classify(starved).ok
        again = runner.run(["verifier", str(seed.path), "--json"])
        assert again.stdout == by_fork.stdout
    finally:
        runner.close()


# ------------------------------------------------- a bilan of every reproducer


def test_a_bilan_of_every_reproducer_has_one_row_per_file_the_same_twice(tmp_path):
    """Issue 12 §3, done when: `bilan` over a folder of every reproducer of the fuzzer's
    classes (tests/corpus/fuzzed.py) and a valid workbook writes its bilan, one row per
    file with the status `verifier` gives it, under 1 GiB per process (RLIMIT_AS, and
    the peak resident memory measured), and `--jobs 1` and `--jobs 2` write the same
    bytes."""
    from .corpus import fuzzed
    from .corpus.build import Workshop, cases, soffice_command

    names = {n for files in fuzzed.REPRODUCERS.values() for n in files} | {fuzzed.WITNESS}
    by_name = {c.name: c for c in cases()}
    assert sorted(names - set(by_name)) == []  # (contain's cases: after its merge)
    folder = tmp_path / "reproducteurs"
    folder.mkdir()
    shop = Workshop(tmp_path / "atelier", soffice_command(tmp_path / "lo-profile"))
    shop.work.mkdir()
    for name in sorted(names):
        by_name[name].make(folder / name, shop)
    expected = {n: by_name[n].bilan_statut or by_name[n].statut for n in names}
    assert expected[fuzzed.WITNESS] == "Valide"
    written = {}
    for jobs in (1, 2):
        target = tmp_path / f"bilan-{jobs}.xlsx"
        args = ["bilan", str(folder), "-o", str(target), "--jobs", str(jobs)]
        run = oracle.run_exec(args, tmp_path / "logs", timeout=300, memory=oracle.GiB)
        assert classify(run, expect_exit=(0,)).ok, run.stderr.decode()[-3000:]
        assert run.maxrss < oracle.GiB
        assert bilans.statuses(target) == expected
        written[jobs] = target.read_bytes()
    assert written[1] == written[2]


# ---------------------------------------------------------------- the CI campaign


def test_one_minute_of_fuzzing_finds_nothing_uncontained(seeds, tmp_path, capsys):
    """Today (before isolation, issue 12 §3) this fails with the classes of the issue:
    calamine panics, aborts on allocation, PicklingError in the batch, floods. Each
    class names who fixes it; the reproducers are under the campaign's folder."""
    config = Config(
        out=tmp_path / "fuzz",
        cache=seeds[0].path.parents[1],
        seed=CI_SEED,
        duration=CI_SECONDS,
        bilan_every=80,
        bilan_files=20,
        minimise_seconds=10,
    )
    report = Campaign(config).run()
    with capsys.disabled():
        print("\n" + format_report(report))
    assert report.mutants >= 60
    families = {f for f, stats in report.by_family.items() if stats["mutants"]}
    assert families >= {*FAMILIES, "bilan"}
    assert report.mutator_errors == {}
    failing = [
        f"{f.key} ({f.count}×, à corriger par {owner(f.key)}) : {f.path}"
        for f in report.uncontained
    ]
    assert failing == [], "classes non contenues :\n" + "\n".join(failing)
