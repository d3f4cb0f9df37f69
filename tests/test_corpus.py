"""Hostile inputs (SPEC §7, §8): the corpus of tests/corpus/build.py through the real CLI.

The corpus is built once per session. Every file goes through `verifier --json --annoter`,
and the whole folder through `bilan --fiches --annoter` and `bilan --strict`, each command
in its own process: 1 GiB of address space per process (RLIMIT_AS, set in the child before
the command starts), 10 s of wall time for one file, 30 s for the bilan of the folder; the
peak resident memory of each command is measured with wait4. What is checked:

- the exit codes of SPEC §7.3; never a traceback, a crash or an « erreur interne »;
- the anomalies each case must show, naming its file, sheet and cell;
- inputs never modified: SHA-256 before and after every command, nothing added;
- money: each readable case's euros read to the cent, the Contrôles sheet « Conforme »;
- no formula or link made from input text in any output (their XML is scanned);
- privacy: no student or mentor code in the bilan, one establishment per fiche;
- atomic writes: a bilan killed at any moment leaves no partial file at its path.

The last test prints the figures of the run: files tried, crashes, worst time and memory,
euros lost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from mentorat_budget.batch import annotated_name, discover
from mentorat_budget.read import ZIP_ERRORS

from .corpus.build import (
    DOUBLON,
    FORMULA_TEXT,
    HYPERLINK_TEXT,
    ILLISIBLE,
    MARKERS,
    SECRET,
    SECRET_NAME,
    URL_TEXT,
    Case,
    build,
    cases,
    soffice_command,
)
from .test_bilan import sheet_rows

LIMIT_SECONDS = 10  # one file: `verifier`
BILAN_SECONDS = 30  # the whole folder (its files, some of them huge, in one command)
LIMIT_BYTES = 1024**3  # 1 GiB, for every process
PARALLEL = max(1, min(4, len(os.sched_getaffinity(0))))
CASES = cases()
# What a crash leaves in the output, whatever the exit code.
CRASH_SIGNS = (
    "Traceback (most recent call last)",
    "panicked at",
    "memory allocation of",
    "Fatal Python error",
    "erreur interne",  # batch.parse_one turned an exception into an anomaly
)


# ----------------------------------------------------------------- running commands


@dataclass
class Run:
    """One command of the CLI, run in its own process under the limits."""

    label: str
    args: list[str]
    returncode: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    maxrss: int = 0  # bytes: the largest process of the command (wait4)
    limit: float = LIMIT_SECONDS  # wall-clock seconds it may take
    killed: bool = False  # at that limit
    inputs_changed: list[str] = field(default_factory=list)

    @property
    def crashed(self) -> bool:
        return (
            self.killed
            or self.returncode is None
            or self.returncode < 0
            or any(sign in self.stdout + self.stderr for sign in CRASH_SIGNS)
        )

    def problems(self, exit_codes: Iterable[int]) -> list[str]:
        """What is wrong with this run as an answer to its input (empty when all is well)."""
        exit_codes = sorted(exit_codes)
        found = []
        if self.killed:
            found.append(f"tuée au bout de {self.limit:.0f} s")
        elif self.returncode not in exit_codes:
            found.append(f"code de sortie {self.returncode}, attendu {exit_codes}")
        found += [f"« {s} » dans la sortie" for s in CRASH_SIGNS if s in self.stdout + self.stderr]
        if self.seconds > self.limit:
            found.append(f"{self.seconds:.1f} s > {self.limit:.0f} s")
        if self.maxrss >= LIMIT_BYTES:
            found.append(f"{self.maxrss / 2**20:.0f} Mio de mémoire résidente")
        if self.inputs_changed:
            found.append(f"entrées modifiées : {self.inputs_changed}")
        return found

    def explain(self, exit_codes: Iterable[int]) -> str:
        return (
            f"{self.label} : {' ; '.join(self.problems(exit_codes))}\n"
            f"$ mentorat-budget {' '.join(self.args)}\n"
            f"({self.seconds:.1f} s, {self.maxrss / 2**20:.0f} Mio)\n"
            f"--- stderr (fin)\n{self.stderr[-3000:]}\n--- stdout (fin)\n{self.stdout[-1500:]}"
        )


def _limits() -> None:
    """In the child, before the command: the address space it may use, no core dump."""
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, LIMIT_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path) and its SHA-256."""
    return {
        p.relative_to(folder).as_posix(): sha256(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@dataclass
class _Running:
    run: Run
    proc: subprocess.Popen
    logs: tuple
    inputs: dict[str, str]
    start: float


def run_commands(
    commands: list[tuple[str, list[str], list[Path]]],
    logs: Path,
    parallel: int = PARALLEL,
    limited: bool = True,
    timeout: float = LIMIT_SECONDS,
) -> dict[str, Run]:
    """Run `(label, arguments of mentorat-budget, inputs)` commands, `parallel` at a time.

    Each runs in its own session, so that an overrun kills it with its workers; with
    `limited`, under the limits of `_limits`. Inputs are hashed before and after."""
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    pending, running, done = list(commands), {}, {}
    while pending or running:
        while pending and len(running) < parallel:
            label, args, inputs = pending.pop(0)
            before = {str(p): sha256(p) for p in inputs}
            log = logs / re.sub(r"[^\w.-]+", "_", label)
            out, err = open(f"{log}.out", "w+b"), open(f"{log}.err", "w+b")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "mentorat_budget", *args],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                preexec_fn=_limits if limited else None,
                start_new_session=True,
            )
            run = Run(label, args, limit=timeout)
            running[proc.pid] = _Running(run, proc, (out, err), before, time.monotonic())
        time.sleep(0.005)
        for pid, r in list(running.items()):
            waited, status, usage = os.wait4(pid, os.WNOHANG)
            if waited == 0:
                if time.monotonic() - r.start > timeout and not r.run.killed:
                    r.run.killed = True
                    os.killpg(pid, signal.SIGKILL)
                continue
            r.run.seconds = time.monotonic() - r.start
            r.run.returncode = r.proc.returncode = os.waitstatus_to_exitcode(status)
            r.run.maxrss = usage.ru_maxrss * 1024
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # workers left behind, if any
            for stream, name in zip(r.logs, ("stdout", "stderr"), strict=True):
                stream.seek(0)
                setattr(r.run, name, stream.read().decode("utf-8", "replace"))
                stream.close()
            r.run.inputs_changed = [p for p, h in r.inputs.items() if sha256(Path(p)) != h]
            done[r.run.label] = r.run
            del running[pid]
    return done


# ------------------------------------------------------------------------- fixtures


@dataclass
class Corpus:
    folder: Path
    cases: list[Case]  # those built (the LibreOffice ones need soffice)
    hashes: dict[str, str]  # SHA-256 of every file, as built

    def path(self, case: Case) -> Path:
        return self.folder / case.name

    def built(self, case: Case) -> Case:
        if case.name not in self.hashes:
            pytest.skip(f"{case.name} : LibreOffice absent, cas non construit")
        return case


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    soffice = soffice_command(tmp_path_factory.mktemp("lo-profile"))
    if soffice is None and os.environ.get("MENTORAT_EXIGER_SOFFICE"):
        pytest.fail("LibreOffice (soffice) est requis mais introuvable")
    folder = tmp_path_factory.mktemp("corpus") / "classeurs"
    made = build(folder, soffice)
    return Corpus(folder, made, snapshot(folder))


@pytest.fixture(scope="session")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sorties")


@pytest.fixture(scope="session")
def verifier_runs(corpus, outputs) -> dict[str, Run]:
    """`verifier FILE --json --annoter COPY` for every file of the corpus."""
    copies = outputs / "verifier-annotes"
    copies.mkdir()
    commands = [
        (c.name, ["verifier", str(corpus.path(c)), "--json", "--annoter",
                  str(copies / f"{c.name}-annote.xlsx")], [corpus.path(c)])
        for c in corpus.cases
    ]  # fmt: skip
    return run_commands(commands, outputs / "logs-verifier")


@dataclass
class Bilan:
    run: Run
    strict: Run
    folder: Path  # where the outputs read by the other tests are
    unlimited: Run | None = None  # run without the limits when the limited run failed

    @property
    def path(self) -> Path:
        return self.folder / "bilan.xlsx"

    @property
    def strict_path(self) -> Path:
        return Path(self.strict.args[3])


@pytest.fixture(scope="session")
def bilan(corpus, outputs, verifier_runs) -> Bilan:
    """`bilan` over the whole corpus (after the verifier runs: alone on the machine)."""
    out = outputs / "bilan"
    out.mkdir()

    def args(folder: Path) -> list[str]:  # two readers; the strict run, one
        target, fiches, copies = (str(folder / n) for n in ("bilan.xlsx", "fiches", "annotes"))
        return ["bilan", str(corpus.folder), "-o", target, "--fiches", fiches, "--annoter", copies,
                "--jobs", "2"]  # fmt: skip

    strict = ["bilan", str(corpus.folder), "-o", str(outputs / "bilan-strict.xlsx"), "--strict",
              "--jobs", "1"]  # fmt: skip
    inputs = [corpus.path(c) for c in corpus.cases]  # hashed before and after each command
    runs = run_commands(
        [("bilan", args(out), inputs), ("bilan --strict", strict, inputs)],
        outputs / "logs",
        parallel=1,
        timeout=BILAN_SECONDS,
    )
    result = Bilan(runs["bilan"], runs["bilan --strict"], out)
    if not result.path.exists():
        # The limits have their own test; the other checks read the outputs of a run
        # without them, so that one failure does not hide the others.
        again = outputs / "bilan-sans-limites"
        again.mkdir()
        label = "bilan sans limites"
        result.unlimited = run_commands(
            [(label, args(again), inputs)], outputs / "logs", 1, limited=False, timeout=600
        )[label]
        result.folder = again
    return result


def table_at(path: Path, sheet: str, first_header: str) -> list[dict]:
    """The rows of the table of `sheet` whose header starts with `first_header`."""
    rows = sheet_rows(path, sheet)
    top = next(i for i, r in enumerate(rows) if r and r[0] == first_header)
    body = []
    for r in rows[top + 1 :]:
        if all(c in ("", None) for c in r):
            break
        body.append(dict(zip(rows[top], r, strict=False)))
    return body


def cents(value: object) -> int:
    return round(float(value or 0) * 100)


def all_cells(path: Path) -> list[tuple[str, str]]:
    """(sheet, text) of every non-empty cell of a workbook."""
    names = python_calamine.CalamineWorkbook.from_path(str(path)).sheet_names
    return [(n, str(c)) for n in names for row in sheet_rows(path, n) for c in row if c != ""]


# ------------------------------------------------------------------ every file alone


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_verifier_answers_each_file_with_its_anomalies(case, corpus, verifier_runs):
    case = corpus.built(case)
    run = verifier_runs[case.name]
    assert not run.problems({case.exit_code}), run.explain({case.exit_code})
    report = json.loads(run.stdout)
    anomalies = report["anomalies"]
    listing = "\n".join(f"  {a['code']} {a['feuille']}!{a['cellule']} {a['message']}"
                        for a in anomalies)  # fmt: skip
    assert report["statut"] == case.statut, listing
    assert {report["fichier"], *(a["fichier"] for a in anomalies)} == {str(corpus.path(case))}
    for a in anomalies:  # a cell is named with its sheet, in A1 notation
        assert a["feuille"] or not a["cellule"], a
        assert re.fullmatch(r"(?:[A-Z]{1,3}[1-9][0-9]*)?", a["cellule"]), a
    missing = [str(e) for e in case.expect if not e.found_in(anomalies)]
    assert not missing, f"{case.what} : manquent {missing}\n{listing}"
    copy = Path(run.args[-1])
    assert openpyxl.load_workbook(copy, read_only=True).sheetnames[0] == "Anomalies à corriger"


def test_every_file_of_the_folder_is_a_case(corpus):
    assert sorted(p.name for p in corpus.folder.iterdir()) == sorted(corpus.hashes)
    assert len(corpus.cases) >= 60


# ------------------------------------------------------------------------ the batch


def test_bilan_runs_within_the_limits_with_the_exit_codes_of_the_spec(bilan):
    assert not bilan.run.problems({0}), bilan.run.explain({0})
    assert not bilan.strict.problems({1}), bilan.strict.explain({1})


def _row(cellule: str) -> int:
    return int(re.sub(r"^[A-Z]+", "", cellule) or 0)


def _bilan_lists(expect, verified: list[dict], rejected: set[tuple]) -> bool:
    """Whether the bilan's work list must show an anomaly the verifier reports (SPEC
    §7.1): Bloquant, or Avertissement unless it restates a line of Dépenses inéligibles
    (same sheet and row, the reason as code)."""
    return any(
        a["gravite"] == "Bloquant"
        or (
            a["gravite"] == "Avertissement"
            and (a["feuille"], _row(a["cellule"]), a["code"]) not in rejected
        )
        for a in verified
        if expect.found_in([a])
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bilan_reports_each_file(case, corpus, verifier_runs, bilan):
    case = corpus.built(case)
    out = bilan.path
    rows = {r["Fichier"]: r for r in table_at(out, "Établissements", "UAI")}
    controls = {r["Fichier"]: r for r in table_at(out, "Contrôles", "Fichier")}
    if case.ours:  # listed among the ignored files, nowhere else
        assert case.name not in rows and case.name not in controls
        assert case.name in {r[0] for r in sheet_rows(out, "Contrôles")}
        return
    row = rows[case.name]
    assert row["Statut du classeur"] == (case.bilan_statut or case.statut)
    assert (row["UAI"] or None) == case.uai
    anomalies = [
        {"code": a["Code"], "feuille": a["Feuille"], "cellule": a["Cellule"],
         "message": a["Message"]}
        for a in table_at(out, "Anomalies", "UAI") if a["Fichier"] == case.name
    ]  # fmt: skip
    verified = json.loads(verifier_runs[case.name].stdout)["anomalies"]
    places = [
        (r["Cellule"].rpartition("!"), r["Code motif"])
        for r in table_at(out, "Dépenses inéligibles", "UAI")
        if r["Fichier"] == case.name
    ]
    rejected = {(sheet, _row(cell), code) for (sheet, _, cell), code in places}
    listed = [e for e in case.expect if _bilan_lists(e, verified, rejected)]
    missing = [str(e) for e in (*listed, *case.bilan_expect) if not e.found_in(anomalies)]
    assert not missing, f"{case.what} : manquent {missing}"
    left_out = [e for e in case.expect if e not in listed and e.found_in(anomalies)]
    assert not left_out, f"{case.what} : informations ou redites listées {left_out}"
    control = controls[case.name]
    assert control["SHA-256"] == corpus.hashes[case.name]
    if case.lus is None:
        assert control["Montants lus (€)"] in ("", None)
        return
    lus, eligible, ineligible, ecart = (
        cents(control[k])
        for k in ("Montants lus (€)", "Éligibles (€)", "Inéligibles (€)", "Écart (€)")
    )
    assert lus == case.lus, f"{case.what} : {lus} centimes lus, {case.lus} attendus"
    assert (lus - eligible - ineligible, ecart) == (0, 0)


def test_each_file_costs_only_itself_with_one_or_two_readers(corpus, bilan):
    """`bilan --jobs 2` and `bilan --jobs 1` (the strict run): one row per file, each with
    the status `verifier` gives it, whatever the others did to their readers."""
    expected = {c.name: c.bilan_statut or c.statut for c in corpus.cases if not c.ours}
    for path in (bilan.path, bilan.strict_path):
        rows = table_at(path, "Établissements", "UAI")
        assert {r["Fichier"]: r["Statut du classeur"] for r in rows if r["Fichier"]} == expected


def test_bilan_conserves_every_euro(corpus, bilan):
    controls = {r[0]: r[1] for r in sheet_rows(bilan.path, "Contrôles") if r and r[0]}
    assert controls["Résultat"] == "Conforme"
    assert cents(controls["Écart : lus − éligibles − inéligibles listées (€)"]) == 0
    lus = cents(controls["Montants lus (€)"])
    counted = [c for c in corpus.cases if c.lus is not None and c.bilan_statut != DOUBLON]
    assert lus == sum(c.lus for c in counted)  # type: ignore[misc]
    split = cents(controls["Dépenses éligibles (€)"]) + cents(
        controls["Parts inéligibles listées, une par motif (€)"]
    )
    assert lus == split
    synthese = {r[0]: r[1] for r in sheet_rows(bilan.path, "Synthèse") if r and r[0]}
    files = [c for c in corpus.cases if not c.ours]
    assert synthese["Classeurs lus"] == len(files)
    assert synthese["Classeurs illisibles"] == sum(c.statut == ILLISIBLE for c in files)


def test_the_bilan_lists_no_information(bilan):
    """Information anomalies stay in the fiches and annotated copies (SPEC §7.1)."""
    gravites = {a["Gravité"] for a in table_at(bilan.path, "Anomalies", "UAI")}
    assert gravites <= {"Bloquant", "Avertissement"} and "Bloquant" in gravites


def test_no_internal_error_hides_in_the_bilan(bilan):
    """The batch turns an unexpected exception into an anomaly of the file: none allowed."""
    messages = [r[7] for r in sheet_rows(bilan.path, "Anomalies")[1:] if len(r) > 7]
    assert [m for m in messages if "erreur interne" in str(m)] == []


def test_bilan_annotates_every_file_with_anomalies(bilan):
    """SPEC §7.2: `--annoter` writes a copy of each workbook that has anomalies, whatever
    its format or extension, readable or not."""
    with_anomalies = {a["Fichier"] for a in table_at(bilan.path, "Anomalies", "UAI")}
    written = {p.name for p in (bilan.folder / "annotes").glob("*.xlsx")}
    missing = sorted(f for f in with_anomalies if annotated_name(f) not in written)
    assert missing == []


def test_inputs_are_never_modified(corpus, verifier_runs, bilan):
    runs = [*verifier_runs.values(), bilan.run, bilan.strict, bilan.unlimited]
    changed = {r.label: r.inputs_changed for r in runs if r is not None and r.inputs_changed}
    assert changed == {}
    assert snapshot(corpus.folder) == corpus.hashes  # nothing changed, added or removed


# ---------------------------------------------------------------- formulas and links


def _formulas(xml: str) -> list[str]:
    """Cell formulas (<f>) and chart references (<c:f>) of one XML part."""
    found = re.findall(r"<(?:\w+:)?f(?:\s[^>]*)?>(.*?)</(?:\w+:)?f>", xml, flags=re.S)
    return [f.strip() for f in found]


def _scan(path: Path) -> tuple[list[str], list[str]]:
    """(problems, formulas) of one output workbook: a link out of the workbook (openpyxl
    writes links within it, `#'Feuille'!A1`, as « external » targets), or a marker of the
    corpus anywhere but in a text node, is a problem."""
    problems, formulas = [], []
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.endswith((".xml", ".rels", ".vml")):
                continue
            xml = z.read(name).decode("utf-8", "replace")
            for rel in re.findall(r"<Relationship\b[^>]*>", xml):
                target = re.search(r'Target="([^"]*)"', rel)
                if 'TargetMode="External"' in rel and not (target and target[1][:1] == "#"):
                    problems.append(f"{path.name}:{name} : lien vers l'extérieur {rel}")
            outside_text = re.sub(r"<t(?:\s[^>]*)?>.*?</t>", "", xml, flags=re.S)
            found = [m for m in MARKERS if m in outside_text]
            if found:
                problems.append(f"{path.name}:{name} : {found} hors d'un texte")
            formulas += _formulas(xml)
    if FORMULA_TEXT.lstrip("=") in formulas:
        problems.append(f"{path.name} : formule {FORMULA_TEXT}")
    return problems, formulas


def _input_formulas(path: Path) -> set[str]:
    """The formulas of an input's sheets (none when it is not a readable zip)."""
    with contextlib.suppress(*ZIP_ERRORS), zipfile.ZipFile(path) as z:
        return {
            f
            for name in z.namelist()
            if name.endswith(".xml") and z.getinfo(name).file_size < 2**28
            for f in _formulas(z.read(name).decode("utf-8", "replace"))
        }
    return set()


def test_no_formula_or_link_comes_from_input_text(corpus, verifier_runs, bilan):
    """The corpus types =HYPERLINK(…), =1+2, a DDE call and URLs as text: in every output
    they stay text. An annotated copy keeps only the formulas the user's workbook had."""
    problems = []
    for path in [bilan.path, bilan.strict_path, *(bilan.folder / "fiches").glob("*.xlsx")]:
        if path.exists():  # (no strict bilan: see the test of the limits)
            problems += _scan(path)[0]
    sources = {annotated_name(c.name): corpus.path(c) for c in corpus.cases}
    copies = [(Path(r.args[-1]), Path(r.args[1])) for r in verifier_runs.values()]
    copies += [(p, sources[p.name]) for p in (bilan.folder / "annotes").glob("*.xlsx")]
    assert len(copies) > len(corpus.cases)
    for copy, source in copies:
        if copy.exists():
            found, formulas = _scan(copy)
            extra = set(formulas) - _input_formulas(source)
            problems += found + [f"{copy.name} : formules {sorted(extra)}"] * bool(extra)
    assert problems == []
    # The text did reach the outputs, as text.
    texts = {t for _, t in all_cells(bilan.path)}
    assert {HYPERLINK_TEXT, URL_TEXT} <= texts
    copy = Path(verifier_runs["texte-formule.xlsx"].args[-1])
    cell = openpyxl.load_workbook(copy)["Dépenses"]["D5"]
    assert (cell.value, cell.data_type) == (HYPERLINK_TEXT, "s")


def test_no_secret_leaks_through_an_external_entity(corpus, verifier_runs, bilan):
    assert (corpus.folder.parent / SECRET_NAME).read_text().strip() == SECRET
    runs = [*verifier_runs.values(), bilan.run, bilan.strict]
    leaks = [r.label for r in runs if SECRET in r.stdout + r.stderr]
    outputs = [*bilan.folder.rglob("*.xlsx"), *(Path(r.args[-1]) for r in verifier_runs.values())]
    for path in outputs:
        if path.exists():
            with zipfile.ZipFile(path) as z:
                leaks += [path.name for n in z.namelist() if SECRET.encode() in z.read(n)]
    assert leaks == []


# ------------------------------------------------------------------------- privacy


def test_the_bilan_holds_no_student_or_mentor_code(corpus, bilan):
    """test_bilan.py checks the samples; here, every code of the corpus, unknown ones too."""
    codes = sorted(set().union(*(c.codes for c in corpus.cases)))
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, codes)) + r")\b", re.IGNORECASE)
    for path in (bilan.path, bilan.strict_path):
        if path.exists():  # (no strict bilan: see the test of the limits)
            assert [(s, t) for s, t in all_cells(path) if pattern.search(t)] == []


def test_each_fiche_holds_one_establishment(corpus, bilan):
    fiches = sorted((bilan.folder / "fiches").glob("*.xlsx"))
    by_name = {c.name: c for c in corpus.cases}
    seen = set()
    for fiche in fiches:
        cells = all_cells(fiche)
        own = {r[0]: r[1] for r in sheet_rows(fiche, "Synthèse") if r and r[0]}["Fichier"]
        seen.add(own)
        others = {c.uai for c in corpus.cases if c.uai and c.uai != by_name[own].uai}
        words = {w for _, text in cells for w in re.findall(r"[\w.-]+", text)}
        assert words & (others | (set(by_name) - {own})) == set(), fiche.name
    expected = {c.name for c in corpus.cases if c.readable and c.bilan_statut != DOUBLON}
    assert seen == expected, f"fiches manquantes : {sorted(expected - seen)}"


# --------------------------------------------------------------------- atomic writes


@pytest.fixture(scope="module")
def lot(tmp_path_factory) -> tuple[Path, bytes]:
    """30 sample workbooks, and the complete bilan of another folder (last week's)."""
    from mentorat_budget import rules
    from mentorat_budget.examples import write_examples

    folder = tmp_path_factory.mktemp("lot-atomique")
    write_examples(folder, 30, 11, rules.for_campagne(2024))
    one = tmp_path_factory.mktemp("un")
    shutil.copy(sorted(folder.glob("*.xlsx"))[0], one)
    old = one / "bilan.xlsx"
    subprocess.run([sys.executable, "-m", "mentorat_budget", "bilan", str(one), "-o", str(old)],
                   check=True, capture_output=True)  # fmt: skip
    return folder, old.read_bytes()


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # renamed or removed meanwhile
        return 0


def _kill_at(folder: Path, out: Path, moment: str, delay: float) -> set[str]:
    """Start `bilan` and SIGKILL it at `moment`; returns the names in `out` at that moment
    (empty if the command ended first)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mentorat_budget", "bilan", str(folder), "-o",
         str(out / "bilan.xlsx"), "--fiches", str(out / "fiches"), "--jobs", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    start = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - start < 60:
            files = {p.name: p for p in out.rglob("*")}
            tmp = [p for n, p in files.items() if n.startswith(".bilan.") and n.endswith(".tmp")]
            if {
                "bilan-commence": bool(tmp),
                "zip-en-cours": any(_size(p) > 0 for p in tmp),
                "fiche-en-cours": any(n.startswith(".fiche-") for n in files),
                "delai": time.monotonic() - start >= delay,
            }[moment]:
                proc.send_signal(signal.SIGKILL)
                return set(files)
            time.sleep(0.0005)
    finally:
        proc.kill()
        proc.wait()
    return set()


@pytest.mark.parametrize(
    ("moment", "delay", "previous"),
    [
        ("bilan-commence", 0, False),
        ("bilan-commence", 0, True),
        ("zip-en-cours", 0, True),
        ("fiche-en-cours", 0, False),
        ("delai", 0.4, True),
        ("delai", 0.9, True),
    ],
)
def test_a_killed_bilan_never_leaves_a_partial_file(lot, tmp_path, moment, delay, previous):
    folder, old = lot
    out = tmp_path / "sortie"
    out.mkdir()
    target = out / "bilan.xlsx"
    if previous:  # a complete bilan is already at the output path
        target.write_bytes(old)
    seen = _kill_at(folder, out, moment, delay)
    assert seen or moment == "delai", f"moment « {moment} » jamais atteint"
    if moment == "bilan-commence":  # killed while the bilan was being written
        assert target.exists() == previous
    if target.exists() and target.read_bytes() != old:
        with zipfile.ZipFile(target) as z:
            assert z.testzip() is None
        assert openpyxl.load_workbook(target, read_only=True).sheetnames[-1] == "Paramètres"
    elif previous:
        assert target.read_bytes() == old, "l'ancien bilan a disparu ou changé"
    for fiche in (out / "fiches").glob("*.xlsx"):
        with zipfile.ZipFile(fiche) as z:
            assert z.testzip() is None, fiche.name
        assert python_calamine.CalamineWorkbook.from_path(str(fiche)).sheet_names, fiche.name
    # What a kill leaves behind is hidden (.name.tmp) and never read back as a workbook.
    leftovers = [p for p in out.rglob("*") if p.is_file() and p.suffix == ".tmp"]
    assert all(p.name.startswith(".") for p in leftovers)
    assert all(p.suffix == ".xlsx" and p.name[0] != "." for p, _ in discover([out]))


# ---------------------------------------------------------------------------- README


def test_readme_documents_the_limits_and_what_the_user_sees():
    from mentorat_budget import isolation, read
    from mentorat_budget.anomalies import MAX_PER_CODE

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Limites de sécurité", 1)[1].split("\n## ", 1)[0]
    flat = " ".join(section.replace("**", "").split())
    mo = lambda size: f"{size // read.MiB} Mo"  # noqa: E731
    facts = [
        mo(read.MAX_FILE_BYTES),
        mo(read.MAX_MEMBER_BYTES),
        mo(read.MAX_TOTAL_BYTES),
        f"supérieur à {read.MAX_RATIO}",
        mo(read.RATIO_FLOOR),
        f"{read.MAX_ROWS:,} lignes".replace(",", " "),
        f"{read.MAX_CELLS / 10**6:g} million".replace(".", ",") + " de cellules",
        "Illisible",  # what the user sees: the file's status, and an anomaly
        "FIC-LIGNES",
        "FIC-RESSOURCES",  # the isolation, its limits and how to change them
        f"{isolation.DEFAULT_MEMORY // read.MiB} Mo",
        f"{isolation.DEFAULT_SECONDS:g} secondes",
        isolation.MEMORY_ENV,
        isolation.SECONDS_ENV,
        f"{MAX_PER_CODE} premières",
    ]
    assert [f for f in facts if f not in flat] == []


# ---------------------------------------------------------------------- the figures


def test_figures_of_the_corpus_run(corpus, verifier_runs, bilan, capsys):
    """The figures for the note; they must say 0 crashes and 0 euros lost."""
    runs = [*verifier_runs.values(), bilan.run, bilan.strict]
    crashes = [r.label for r in runs if r.crashed]
    slowest = max(runs, key=lambda r: r.seconds)
    largest = max(runs, key=lambda r: r.maxrss)
    # Euros lost: those of an input that the bilan neither counts nor flags.
    controls = {r["Fichier"]: r for r in table_at(bilan.path, "Contrôles", "Fichier")}
    etab = {r["Fichier"]: r for r in table_at(bilan.path, "Établissements", "UAI")}
    flagged = {(a["Fichier"], a["Feuille"], a["Cellule"])
               for a in table_at(bilan.path, "Anomalies", "UAI")}  # fmt: skip
    lost = 0
    for case in corpus.cases:
        if case.lus is not None:
            control = controls.get(case.name, {})
            lus = cents(control.get("Montants lus (€)"))
            split = cents(control.get("Éligibles (€)")) + cents(control.get("Inéligibles (€)"))
            lost += abs(case.lus - lus) + abs(lus - split)
        if case.report is not None and (case.name, "Établissement", "B9") not in flagged:
            lost += abs(case.report - cents(etab[case.name]["Report N-1 (€)"]))
    lines = [
        "Corpus d'entrées hostiles (tests/corpus/build.py)",
        f"  fichiers essayés  {len(corpus.cases)} ({len(runs)} commandes : verifier --json "
        "--annoter par fichier, bilan --fiches --annoter, bilan --strict)",
        f"  plantages         {len(crashes)}" + (f" : {', '.join(crashes)}" * bool(crashes)),
        f"  pire temps        {slowest.seconds:.2f} s ({slowest.label})",
        f"  pire mémoire      {largest.maxrss / 2**20:.0f} Mio ({largest.label})",
        f"  euros perdus      {lost / 100:.2f} €",
        f"  limites           {LIMIT_BYTES // 2**20} Mio par processus ; {LIMIT_SECONDS} s par "
        f"verifier, {BILAN_SECONDS} s pour le bilan du dossier",
    ]
    if bilan.unlimited is not None:
        u = bilan.unlimited
        lines.append(f"  (bilan relancé sans limites : {u.seconds:.1f} s, "
                     f"{u.maxrss / 2**20:.0f} Mio, code {u.returncode})")  # fmt: skip
    with capsys.disabled():
        print("\n" + "\n".join(lines))
    assert crashes == []
    assert lost == 0
