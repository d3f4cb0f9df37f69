"""The parsing in child processes (isolation.py, SPEC §8 Containment).

A worker that aborts, dies of a signal, runs out of memory, overruns its time or raises
costs its own task: the other tasks come back, in order, and the pool goes on with a new
worker. End to end, a reading that hangs or aborts (a test-only hook of the worker, since
no file is known that hangs every time) costs one file in `verifier` and in `bilan
--jobs 1` and `--jobs 2`; the hostile corpus (tests/corpus/build.py) has the real files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mentorat_budget import isolation
from mentorat_budget.isolation import ARRET, DUREE, ERREUR, MEMOIRE, Failure, Limits, Pool

SHORT = Limits(memory=1024 * isolation.MiB, seconds=3)
EXEMPLE = sorted((Path(__file__).parents[1] / "workbooks" / "exemples").glob("*.xlsx"))[0]


# Tasks (module level: a worker imports them by name).


def double(x: int) -> int:
    return 2 * x


def abort(x: int) -> None:
    os.abort()


def sleep(x: int) -> None:
    time.sleep(3600)


def allocate(x: int) -> bytes:
    return bytes(2 * 1024**3)  # beyond the worker's 1 GiB of address space


def fail(x: int) -> None:
    raise ValueError(f"valeur {x} refusée")


def panic(x: int) -> None:
    class PanicException(BaseException):  # as pyo3 raises it: not an Exception
        pass

    raise PanicException("panique")


def pid(x: int) -> int:
    return os.getpid()


def test_each_failure_costs_its_own_task_and_the_others_come_back_in_order():
    tasks = [double, abort, double, sleep, double, allocate, double, fail, double, panic, double]
    with Pool(2, context="fork", limits=SHORT) as pool:
        done = list(pool.map(_dispatch, [(f.__name__, i) for i, f in enumerate(tasks)]))
        assert pool.call(double, 21) == 42  # and the pool goes on
    assert done[0::2] == [0, 4, 8, 12, 16, 20]
    reasons = [(f.reason, f.detail) for f in done[1::2]]
    assert reasons == [
        (ARRET, "SIGABRT"),
        (DUREE, ""),
        (MEMOIRE, ""),
        (ERREUR, "ValueError : valeur 7 refusée"),
        (ARRET, "PanicException"),
    ]
    assert done[3].limit == 3 and done[5].limit == 1024 * isolation.MiB


def _dispatch(name: str, x: int):
    return globals()[name](x)


def test_a_worker_is_replaced_after_a_crash_not_before():
    with Pool(1, context="fork", limits=SHORT) as pool:
        first, again = pool.call(pid, 0), pool.call(pid, 0)
        assert isinstance(next(pool.map(abort, [(0,)])), Failure)
        after = pool.call(pid, 0)
    assert first == again != after


def test_call_raises_the_tasks_exception_or_contained():
    with Pool(1, context="fork", limits=SHORT) as pool:
        with pytest.raises(ValueError, match="valeur 3 refusée"):
            pool.call(fail, 3)
        with pytest.raises(isolation.Contained) as contained:
            pool.call(abort, 0)
    assert contained.value.failure.reason == ARRET


@pytest.mark.parametrize("context", ["forkserver", "spawn"])
def test_a_threaded_server_may_start_its_workers_otherwise(context):
    """The guichet serves from threads: its pool must not fork the server itself. (A new
    interpreter imports this module: a longer limit, on a loaded machine.)"""
    with Pool(2, context=context, limits=Limits(seconds=60)) as pool:
        done = list(pool.map(_dispatch, [("double", 1), ("abort", 2), ("double", 3)]))
    assert done[0::2] == [2, 6] and done[1].reason == ARRET


def test_a_map_left_early_leaves_the_pool_usable():
    with Pool(1, context="fork", limits=SHORT) as pool:
        for value in pool.map(double, [(i,) for i in range(50)], window=8):
            if value == 4:
                break
        assert list(pool.map(double, [(1,), (2,)])) == [2, 4]


def test_the_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv(isolation.MEMORY_ENV, "512")
    monkeypatch.setenv(isolation.SECONDS_ENV, "7.5")
    assert Limits.from_environment() == Limits(512 * isolation.MiB, 7.5)
    monkeypatch.setenv(isolation.MEMORY_ENV, "beaucoup")
    monkeypatch.setenv(isolation.SECONDS_ENV, "-1")
    assert Limits.from_environment() == Limits()


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """Three sample workbooks, and copies of two of them whose reading hangs or aborts."""
    from mentorat_budget import rules
    from mentorat_budget.examples import write_examples

    folder = tmp_path_factory.mktemp("lecteurs") / "classeurs"
    folder.mkdir()
    paths = write_examples(folder, 3, 5, rules.for_campagne(2024))
    shutil.copy(paths[0], folder / "dort.xlsx")
    shutil.copy(paths[1], folder / "abandonne.xlsx")
    return folder


def cli(*args: object) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        isolation.TEST_HOOK_ENV: "dort:dort.xlsx,abandonne:abandonne.xlsx",
        isolation.SECONDS_ENV: "3",
        "PYTHONIOENCODING": "utf-8",
    }
    return subprocess.run(
        [sys.executable, "-m", "mentorat_budget", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("dort.xlsx", "sa lecture dépasse 3 secondes"),
        ("abandonne.xlsx", "le programme de lecture s'est arrêté sur ce fichier"),
    ],
)
def test_verifier_answers_a_reading_that_hangs_or_aborts(folder, name, fragment):
    done = cli("verifier", folder / name, "--json")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    assert report["statut"] == "Illisible"
    ((anomaly,),) = [report["anomalies"]]
    assert (anomaly["code"], anomaly["feuille"], anomaly["cellule"]) == ("FIC-RESSOURCES", "", "")
    assert fragment in anomaly["message"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_bilan_reports_a_reading_that_hangs_or_aborts_and_goes_on(folder, tmp_path, jobs):
    from .test_bilan import table

    out = tmp_path / "bilan.xlsx"
    done = cli("bilan", folder, "-o", out, "--jobs", jobs, "--annoter", tmp_path / "copies")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    rows = {r["Fichier"]: r["Statut du classeur"] for r in table(out, "Établissements")}
    rows.pop("", None)  # the totals
    assert sorted(rows) == sorted(p.name for p in folder.iterdir())
    illisibles = {name for name, statut in rows.items() if statut == "Illisible"}
    assert illisibles == {"dort.xlsx", "abandonne.xlsx"}
    codes = {(a["Fichier"], a["Code"]) for a in table(out, "Anomalies") if a["Fichier"]}
    assert {("dort.xlsx", "FIC-RESSOURCES"), ("abandonne.xlsx", "FIC-RESSOURCES")} <= codes


# ------------------------------------------------------------ annotated copies


def annotate_aborts(*args) -> None:
    """Stands for openpyxl running out of memory on a large workbook (50 × its size)."""
    os.abort()


def test_verifier_rebuilds_the_copy_when_openpyxls_runs_out(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from mentorat_budget.cli import main
    from mentorat_budget.write import annotate

    monkeypatch.setattr(annotate, "annotate", annotate_aborts)
    copy = tmp_path / "copie.xlsx"
    result = CliRunner().invoke(main, ["verifier", str(EXEMPLE), "--annoter", str(copy)])
    assert result.exit_code in (0, 1), result.output
    assert "Copie annotée écrite" in result.output
    assert openpyxl_sheets(copy)[0] == annotate.SUMMARY_SHEET
    assert "Copie reconstruite" in str(all_text(copy))


def test_bilan_rebuilds_the_copies_that_openpyxl_could_not_make(tmp_path, monkeypatch):
    from mentorat_budget import batch
    from mentorat_budget.rules import for_campagne

    monkeypatch.setattr(batch, "_annotate_task", annotate_aborts)
    results, _ = batch.run_batch(
        [(EXEMPLE, EXEMPLE.name)], for_campagne(2024), jobs=1, annoter=tmp_path
    )
    (result,) = results
    assert result.annote is not None and result.annote.exists()
    assert openpyxl_sheets(result.annote)[0] == "Anomalies à corriger"
    assert "Copie reconstruite" in str(all_text(result.annote))


def openpyxl_sheets(path: Path) -> list[str]:
    import openpyxl

    return openpyxl.load_workbook(path, read_only=True).sheetnames


def all_text(path: Path) -> list:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    return [c for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row]


def _children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(p) for p in text.split()}


def test_workers_do_not_outlive_a_killed_command(folder, tmp_path):
    """`bilan` killed (SIGKILL) while a worker hangs: the idle worker ends at once (its
    pipe closes), the hung one by its own alarm a little after the limit; no file is left."""
    import signal as signals

    env = {
        **os.environ,
        isolation.TEST_HOOK_ENV: "dort:dort.xlsx",
        isolation.SECONDS_ENV: "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "mentorat_budget", "bilan", str(folder), "-o",
         str(tmp_path / "b.xlsx"), "--jobs", "2"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
        workers = _children(proc.pid)
        time.sleep(0.05)
    assert len(workers) == 2
    proc.send_signal(signals.SIGKILL)
    proc.wait()
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.2)
    assert not [p for p in workers if Path(f"/proc/{p}").exists()]


ORPHAN = """
import os, sys
from mentorat_budget.isolation import Limits, Pool
from tests.test_isolation import sleep
pool = Pool(1, limits=Limits(seconds=1))
pool._submit([(sleep, (0,))])
while not pool._workers[0] or not pool._workers[0].queue:
    pass
print(pool._workers[0].process.pid, flush=True)
os._exit(0)  # as if killed: no cleanup, the worker is left hanging in its task
"""


def test_a_hung_worker_left_by_its_parent_is_killed_by_its_own_alarm():
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN], capture_output=True, text=True, timeout=60,
        cwd=Path(__file__).parents[1],
    )  # fmt: skip
    worker = int(done.stdout)
    deadline = time.monotonic() + 60
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{worker}").exists()
