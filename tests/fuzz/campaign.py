"""A fuzzing campaign: draw mutants, run each through `verifier`, classify, deduplicate,
run bilans now and then, minimise, and total it all up.

Mutants go by rounds of `bilan_every`: the round's mutants run `jobs` at a time, then
`bilan --jobs 1` and `--jobs 2` run over the round's last `bilan_files` mutants (the
slots are idle meanwhile, so timings are not skewed by contention). Everything is
decided by mutant index, so a campaign of N mutants is the same campaign every time;
a time-bounded campaign stops after the round in which its time runs out.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import bilans
from .mutators import Mutant, Mutator
from .oracle import GiB, Outcome, Runner, Verdict, classify
from .seeds import Seed, build_seeds

# Kinds that the CI test refuses: the command itself was brought down, or spoke English,
# or flooded. "silent" and "bilan-status" are reported for the readers' owners.
UNCONTAINED = {"timeout", "signal", "traceback", "oom", "exit2", "exit", "bad-json",
               "internal-error", "english", "flood", "bilan"}  # fmt: skip
# Who fixes a class (issue 12): isolation, the anomaly cap, or the readers.
OWNERS = [
    (r"^(timeout|signal|traceback|oom)", "contain: isolation (FIC-RESSOURCES)"),
    (
        r"^bilan:(timeout|signal|traceback|oom|exit|english:(rust-panic|allocation))",
        "contain: isolation in the batch",
    ),
    (r"^flood", "contain: cap of repeated anomalies (SPEC §5.3)"),
    (r"^bilan:", "batch"),
    (r"^english:(rust-panic|allocation)", "contain: isolation (a child's stderr)"),
    (r"^(english|exit2|internal-error)", "readers (contain or lead)"),
    (r"^silent|^bilan-status", "readers / validate (issue 12 §1)"),
]


def owner(key: str) -> str:
    return next((who for pattern, who in OWNERS if re.search(pattern, key)), "?")


@dataclass
class Config:
    out: Path
    cache: Path
    seed: int = 1
    duration: float = 60.0  # seconds of mutants (minimisation and confirmation extra)
    iterations: int | None = None  # or a fixed number of mutants
    jobs: int = 2
    mode: str = "fork"  # or "exec"
    timeout: float = 10.0  # per `verifier`
    memory: int = GiB  # RLIMIT_AS per process
    bilan_every: int = 100  # mutants per round
    bilan_files: int = 20  # of them in each bilan
    bilan_timeout: float = 240.0
    families: list[str] | None = None
    minimise_seconds: float = 30.0
    confirm: bool = True  # run each class's reproducer again with exec
    soffice: bool = True


@dataclass
class Found:
    """One failure class and its smallest reproducer."""

    key: str
    kind: str
    detail: str
    count: int = 0
    families: Counter = field(default_factory=Counter)
    size: int = 0  # of the smallest reproducer
    index: int = -1
    name: str = ""
    seed: str = ""
    family: str = ""
    ops: list = field(default_factory=list)
    seconds: float = 0.0
    maxrss: int = 0
    exec_key: str = ""  # the class of the reproducer run with exec ("" if not run)
    path: str = ""

    @property
    def uncontained(self) -> bool:
        return self.kind in UNCONTAINED


@dataclass
class Accepted:
    """An input the command answered properly: for the slowest and largest lists."""

    name: str
    family: str
    size: int
    seconds: float
    maxrss: int
    statut: str


@dataclass
class Report:
    config: dict
    mutants: int = 0
    seconds: float = 0.0
    bilans: int = 0
    by_family: dict[str, Counter] = field(default_factory=dict)
    classes: dict[str, Found] = field(default_factory=dict)
    slowest: list[Accepted] = field(default_factory=list)
    largest: list[Accepted] = field(default_factory=list)
    disagreements: list[tuple[str, str, str]] = field(default_factory=list)
    mutator_errors: dict[str, int] = field(default_factory=dict)
    seeds: list[str] = field(default_factory=list)
    seed_verdicts: dict[str, str] = field(default_factory=dict)

    @property
    def uncontained(self) -> list[Found]:
        return [f for f in self.classes.values() if f.uncontained]


def _slug(key: str) -> str:
    return re.sub(r"[^\w.-]+", "_", key).strip("_")[:80]


class Campaign:
    def __init__(self, config: Config):
        self.config = config
        self.out = config.out
        self.work = self.out / "work"
        for folder in (self.work, self.out / "classes", self.out / "accepted"):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        self.seeds: list[Seed] = build_seeds(config.cache, config.soffice)
        self.mutator = Mutator(self.seeds, config.families)
        self.runner = Runner(self.work / "logs", config.mode, config.timeout, config.memory)
        self.report = Report({k: str(v) for k, v in asdict(config).items()})
        self.report.seeds = [s.name for s in self.seeds]
        self.kept: dict[str, bytes] = {}  # accepted inputs kept (slowest, largest)
        self.seed_verdicts: dict[str, Verdict] = {}

    # ----------------------------------------------------------------- one mutant

    def _verify(self, mutant: Mutant) -> tuple[Mutant, Outcome]:
        path = self.work / mutant.name
        path.write_bytes(mutant.data)
        return mutant, self.runner.run(["verifier", str(path), "--json"])

    def _record(self, mutant: Mutant, outcome: Outcome) -> Verdict:
        verdict = classify(outcome)
        if verdict.ok and mutant.expect:
            verdict = self._meaning(mutant, verdict)
        stats = self.report.by_family.setdefault(mutant.family, Counter())
        stats["mutants"] += 1
        if verdict.ok:
            stats[verdict.statut] += 1
            if "FIC-RESSOURCES" in verdict.codes:
                stats["FIC-RESSOURCES"] += 1
            self._accepted(mutant, outcome, verdict)
        else:
            stats[f"failure:{verdict.kind}"] += 1
            self._failure(verdict, mutant, outcome)
        return verdict

    def _accepted(self, mutant: Mutant, outcome: Outcome, verdict: Verdict) -> None:
        entry = Accepted(mutant.name, mutant.family, len(mutant.data), outcome.seconds,
                         outcome.maxrss, verdict.statut)  # fmt: skip
        for board, key in ((self.report.slowest, "seconds"), (self.report.largest, "maxrss")):
            board.append(entry)
            board.sort(key=lambda a, key=key: (-getattr(a, key), a.name))
            del board[5:]
        names = {a.name for a in self.report.slowest + self.report.largest}
        if entry.name in names:
            self.kept[entry.name] = mutant.data
        self.kept = {n: d for n, d in self.kept.items() if n in names}

    def _failure(self, verdict: Verdict, mutant: Mutant, outcome: Outcome) -> None:
        found = self.report.classes.get(verdict.key)
        if found is None:
            found = self.report.classes[verdict.key] = Found(
                verdict.key, verdict.kind, verdict.detail
            )
        found.count += 1
        found.families[mutant.family] += 1
        smaller = (len(mutant.data), mutant.index) < (found.size, found.index)
        if found.index < 0 or smaller:
            self._keep(found, mutant, outcome, verdict.detail)

    def _keep(self, found: Found, mutant: Mutant, outcome: Outcome, detail: str) -> None:
        folder = self.out / "classes" / _slug(found.key)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        (folder / mutant.name).write_bytes(mutant.data)
        found.size, found.index, found.name = len(mutant.data), mutant.index, mutant.name
        found.seed, found.family, found.ops = mutant.seed.name, mutant.family, list(mutant.ops)
        found.seconds, found.maxrss, found.detail = outcome.seconds, outcome.maxrss, detail
        found.path = str(folder / mutant.name)
        (folder / "stderr.txt").write_bytes(outcome.stderr[-20_000:])
        (folder / "stdout.txt").write_bytes(outcome.stdout[:20_000])

    # ------------------------------------------------------------------ the loop

    def run(self) -> Report:
        start = time.monotonic()
        deadline = start + self.config.duration
        self._check_seeds()
        index, last = 0, self.config.iterations

        def more() -> bool:
            return index < last if last is not None else time.monotonic() < deadline

        with ThreadPoolExecutor(self.config.jobs) as pool:
            while more():
                round_end = index + self.config.bilan_every
                running, done = deque(), []
                while running or (index < round_end and more()):
                    while index < round_end and more() and len(running) < 2 * self.config.jobs:
                        mutant = self.mutator.draw(self.config.seed, index)
                        running.append(pool.submit(self._verify, mutant))
                        index += 1
                    mutant, outcome = running.popleft().result()
                    done.append((mutant, self._record(mutant, outcome)))
                    (self.work / mutant.name).unlink(missing_ok=True)
                self._bilans(done[-self.config.bilan_files :])
                self._progress(start, index)
        self.report.mutants = index
        self.report.seconds = time.monotonic() - start
        self._minimise(time.monotonic() + self.config.minimise_seconds)
        if self.config.confirm:
            self._confirm()
        self.runner.close()
        self.report.mutator_errors = dict(self.mutator.errors)
        self._write()
        return self.report

    def _progress(self, start: float, index: int) -> None:
        print(f"[fuzz] {time.monotonic() - start:6.0f} s  {index} mutants  "
              f"{len(self.report.classes)} classes", file=sys.stderr, flush=True)  # fmt: skip

    def _meaning(self, mutant: Mutant, verdict: Verdict) -> Verdict:
        """A "meaning" mutant: does verifier say what the mutation means?"""
        what, *detail = mutant.expect
        op = mutant.ops[0][0]
        seed = self.seed_verdicts[mutant.seed.name]
        if what == "not-valide" and verdict.statut == "Valide":
            wrong = f"« Valide » {detail[0]}"
        elif what == "anomaly-at" and tuple(detail) not in verdict.cells:
            wrong = f"aucune anomalie en {detail[0]}!{detail[1]} (« 12,5,0 »), {verdict.statut}"
        elif what == "same-as-seed" and (
            verdict.statut != seed.statut or Counter(verdict.codes) != Counter(seed.codes)
        ):
            more = sorted((Counter(verdict.codes) - Counter(seed.codes)).elements())
            less = sorted((Counter(seed.codes) - Counter(verdict.codes)).elements())
            wrong = (f"{detail[0]} : {seed.statut} → {verdict.statut}, en plus {more[:6]}, "
                     f"en moins {less[:6]}")  # fmt: skip
        else:
            return verdict
        return Verdict("silent", f"silent:{op}", wrong, verdict.statut, verdict.codes)

    def _check_seeds(self) -> None:
        """Every seed must be answered properly, or the campaign means nothing."""
        for seed in self.seeds:
            verdict = classify(self.runner.run(["verifier", str(seed.path), "--json"]))
            self.seed_verdicts[seed.name] = verdict
            self.report.seed_verdicts[seed.name] = verdict.statut or verdict.key
            if not verdict.ok:
                raise RuntimeError(f"seed {seed.name}: {verdict.key} {verdict.detail}")

    def _bilans(self, recent: list[tuple[Mutant, Verdict]]) -> None:
        if not recent:
            return
        n = self.report.bilans = self.report.bilans + 1
        folder = self.work / f"lot-{n:04d}"
        outputs = self.work / f"bilan-{n:04d}"
        folder.mkdir()
        outputs.mkdir()
        expected = {}
        for mutant, verdict in recent:
            (folder / mutant.name).write_bytes(mutant.data)
            comparable = verdict.ok and mutant.seed.campagne == 2024
            expected[mutant.name] = verdict.statut if comparable else None
        result = bilans.check(self.runner, folder, outputs, expected, self.config.bilan_timeout)
        stats = self.report.by_family.setdefault("bilan", Counter())
        stats["mutants"] += len(result.runs)
        for verdict in result.failures:
            stats[f"failure:{verdict.kind}"] += 1
            self._batch_failure(verdict, folder, result)
        for name, v, b in result.disagreements:
            self.report.disagreements.append((name, v, b))
            key = f"bilan-status:{v}->{b}"
            one = [(m, x) for m, x in recent if m.name == name]
            found = self.report.classes.get(key)
            if found is None:
                found = self.report.classes[key] = Found(key, "bilan-status", f"{name}: {v} / {b}")
            found.count += 1
            found.families[one[0][0].family] += 1
            if found.index < 0 or len(one[0][0].data) < found.size:
                self._keep(found, one[0][0], Outcome([]), f"verifier {v}, bilan {b}")
        shutil.rmtree(outputs, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)

    def _batch_failure(self, verdict: Verdict, folder: Path, result) -> None:
        found = self.report.classes.get(verdict.key)
        if found is None:
            found = self.report.classes[verdict.key] = Found(verdict.key, "bilan", verdict.detail)
            target = self.out / "classes" / _slug(verdict.key)
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target / "lot")
            found.path, found.name = str(target / "lot"), folder.name
            found.size = sum(p.stat().st_size for p in folder.iterdir())
            for jobs, o in result.runs.items():
                (target / f"stderr-jobs{jobs}.txt").write_bytes(o.stderr[-20_000:])
        found.count += 1
        found.families["bilan"] += 1

    # ------------------------------------------------------- minimise and confirm

    def _minimise(self, deadline: float) -> None:
        """Drop ops from each class's reproducer while the class stays the same."""
        seeds = {s.name: s for s in self.seeds}
        for found in sorted(self.report.classes.values(), key=lambda f: f.key):
            if found.kind in ("bilan", "bilan-status"):
                continue
            ops = list(found.ops)
            i = 0
            while len(ops) > 1 and i < len(ops) and time.monotonic() < deadline:
                trial = ops[:i] + ops[i + 1 :]
                mutant = Mutant(found.index, seeds[found.seed], found.family, trial)
                mutant.data = self.mutator.replay(mutant.seed, found.family, trial)
                mutant, outcome = self._verify(mutant)
                (self.work / mutant.name).unlink(missing_ok=True)
                if classify(outcome).key == found.key:
                    ops = trial
                    self._keep(found, mutant, outcome, found.detail)
                else:
                    i += 1

    def _confirm(self) -> None:
        for found in self.report.classes.values():
            if found.kind in ("bilan", "bilan-status", "silent") or not found.path:
                continue
            outcome = self.runner.run(["verifier", found.path, "--json"], mode="exec")
            found.exec_key = classify(outcome).key

    def _write(self) -> None:
        for a in {a.name: a for a in self.report.slowest + self.report.largest}.values():
            if a.name in self.kept:
                (self.out / "accepted" / a.name).write_bytes(self.kept[a.name])
        data = {k: v for k, v in vars(self.report).items() if k not in ("classes", "by_family")}
        data["slowest"] = [asdict(a) for a in self.report.slowest]
        data["largest"] = [asdict(a) for a in self.report.largest]
        data["by_family"] = {k: dict(v) for k, v in self.report.by_family.items()}
        data["classes"] = {
            k: {**vars(f), "families": dict(f.families), "owner": owner(k)}
            for k, f in self.report.classes.items()
        }
        (self.out / "report.json").write_text(
            json.dumps(data, ensure_ascii=False, indent=1, default=str)
        )
        (self.out / "report.txt").write_text(format_report(self.report))


# ------------------------------------------------------------------------ totals


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def format_report(report: Report) -> str:
    c = report.config
    rate = report.mutants / report.seconds if report.seconds else 0
    lines = [
        f"Fuzzing campaign: seed {c['seed']}, mode {c['mode']}, {c['jobs']} jobs, limits "
        f"{float(c['timeout']):.0f} s and {_mib(int(c['memory']))} per command",
        f"  {report.mutants} mutants in {report.seconds:.0f} s ({rate:.1f}/s), "
        f"{report.bilans} rounds of bilan --jobs 1 and --jobs 2, {len(report.seeds)} seeds",
        "",
        "By family:",
    ]
    columns = ["mutants", "Valide", "À corriger", "Illisible", "FIC-RESSOURCES"]
    lines.append(f"  {'family':<8}" + "".join(f"{h:>15}" for h in columns) + "  failures")
    for family, stats in sorted(report.by_family.items()):
        failures = ", ".join(
            f"{k[8:]} {v}" for k, v in sorted(stats.items()) if k.startswith("failure:")
        )
        row = "".join(f"{stats.get(h, 0):>15}" for h in columns)
        lines.append(f"  {family:<8}{row}  {failures or '-'}")
    lines += ["", f"Classes ({len(report.classes)}, {len(report.uncontained)} not contained):"]
    for found in sorted(report.classes.values(), key=lambda f: (not f.uncontained, f.key)):
        families = ", ".join(f"{k} {v}" for k, v in sorted(found.families.items()))
        mark = "FAIL" if found.uncontained else "note"
        lines.append(f"  [{mark}] {found.key}")
        lines.append(f"         {found.count} mutants ({families}); owner: {owner(found.key)}")
        lines.append(f"         smallest: {found.name} ({found.size} bytes), "
                     f"{' + '.join(o for o, _ in found.ops) or '-'}")  # fmt: skip
        if found.detail:
            lines.append(f"         {' '.join(found.detail.split())[:150]}")
        if found.exec_key and found.exec_key != found.key:
            lines.append(f"         with exec: {found.exec_key}")
    lines += ["", "Slowest accepted inputs:"]
    lines += [f"  {a.seconds:6.2f} s  {_mib(a.maxrss):>8}  {a.name} ({a.size} bytes, {a.statut})"
              for a in report.slowest]  # fmt: skip
    lines += ["Largest accepted inputs (peak resident memory):"]
    lines += [f"  {_mib(a.maxrss):>8}  {a.seconds:6.2f} s  {a.name} ({a.size} bytes, {a.statut})"
              for a in report.largest]  # fmt: skip
    if report.mutator_errors:
        lines += ["", f"Mutator errors (fuzzer bugs): {report.mutator_errors}"]
    return "\n".join(lines) + "\n"
