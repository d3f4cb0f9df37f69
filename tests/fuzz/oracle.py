"""The oracle: the real CLI in a child process under RLIMIT_AS and a wall-clock limit,
and the classification of what it did.

Two ways to start the command, which run the same code:

- `exec`: `python -m mentorat_budget ARGS`, a new interpreter per command (what a user
  runs; interpreter start and imports cost about 0.7 s);
- `fork` (default): a fork server, started once per slot, that has imported what
  `verifier` imports and forks one child per command; the child sets the limits,
  redirects its standard streams to files and calls the click entry point as
  `python -m mentorat_budget` does. The server waits for it (pidfd), kills its process
  group at the time limit, and sends back its exit status and peak memory (wait4).
  At the time limit the child first gets SIGUSR2, on which faulthandler prints every
  thread's Python stack: that names where a hang is.

The reproducer of every class is run again with `exec` at the end of a campaign.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

GiB = 1024**3
ROOT = Path(__file__).resolve().parents[2]
# A child at its time limit gets SIGUSR2 (faulthandler prints its stacks), then SIGKILL.
DUMP_GRACE = 0.5
READ_SECONDS = 4  # MENTORAT_LECTURE_SECONDES given to the commands (see _environment)


@dataclass
class Outcome:
    """What one command did."""

    args: list[str]
    returncode: int | None = None  # exit code, or -N for a signal
    timed_out: bool = False  # killed at the time limit
    seconds: float = 0.0
    maxrss: int = 0  # bytes, peak resident memory of the command's process
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode is not None and self.returncode < 0 else None


def _environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONFAULTHANDLER": "1"}
    env.pop("RUST_BACKTRACE", None)  # as a user runs it: a panic prints one line
    # The product's own time limit per file (isolation, contain's branch), below ours: a
    # file that hangs must be reported FIC-RESSOURCES by the command, not killed by us.
    env.setdefault("MENTORAT_LECTURE_SECONDES", str(READ_SECONDS))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _limit(memory: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _wait(pid: int, timeout: float, start: float) -> tuple[int, object, bool]:
    """Wait for `pid` (our child) up to `timeout`; at the limit, SIGUSR2 then SIGKILL to
    its process group. Returns (wait status, rusage, timed out)."""
    fd = os.pidfd_open(pid)
    try:
        timed_out = False
        left = timeout - (time.monotonic() - start)
        if not select.select([fd], [], [], max(0.0, left))[0]:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGUSR2)
            select.select([fd], [], [], DUMP_GRACE)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        _, status, usage = os.wait4(pid, 0)
    finally:
        os.close(fd)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)  # what the command left behind (workers, children)
    return status, usage, timed_out


def _read_and_remove(path: Path, limit: int = 64 * 1024 * 1024) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read(limit)
        path.unlink()
        return data
    except FileNotFoundError:
        return b""


def run_exec(args: list[str], logs: Path, timeout: float, memory: int) -> Outcome:
    """`python -m mentorat_budget ARGS` in a new process and session, under the limits."""
    logs.mkdir(parents=True, exist_ok=True)
    out, err = (
        logs / f"exec-{threading.get_ident()}.out",
        logs / f"exec-{threading.get_ident()}.err",
    )
    start = time.monotonic()
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mentorat_budget", *args],
            stdin=subprocess.DEVNULL,
            stdout=o,
            stderr=e,
            env=_environment(),
            cwd=logs,
            preexec_fn=lambda: _limit(memory),
            start_new_session=True,
        )
        status, usage, timed_out = _wait(proc.pid, timeout, start)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by _wait
    return Outcome(
        args,
        None if timed_out else os.waitstatus_to_exitcode(status),
        timed_out,
        time.monotonic() - start,
        usage.ru_maxrss * 1024,
        _read_and_remove(out),
        _read_and_remove(err),
    )


# -------------------------------------------------------------------- fork server


class ForkServer:
    """One pre-started Python that has imported the package, forking a child per
    command (see the module's docstring). Not thread-safe: one per slot."""

    def __init__(self, logs: Path):
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        env = _environment()
        # Forking a process that runs threads is unsafe: no BLAS thread pool in the server.
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.fuzz.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        ready = self.proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"le serveur de fork n'a pas démarré : {ready!r}")
        self.n = 0

    def run(self, args: list[str], timeout: float, memory: int) -> Outcome:
        self.n += 1
        out, err = self.logs / f"fork-{os.getpid()}-{id(self)}-{self.n}.out", None
        err = out.with_suffix(".err")
        request = {"args": args, "out": str(out), "err": str(err), "timeout": timeout,
                   "memory": memory, "cwd": str(self.logs)}  # fmt: skip
        self.proc.stdin.write(json.dumps(request).encode() + b"\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("le serveur de fork s'est arrêté")
        reply = json.loads(line)
        return Outcome(
            args,
            None if reply["timed_out"] else reply["returncode"],
            reply["timed_out"],
            reply["seconds"],
            reply["maxrss"],
            _read_and_remove(out),
            _read_and_remove(err),
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        if self.proc.poll() is None:
            self.proc.kill()


class Runner:
    """Runs commands in `slots` parallel slots, each a fork server or exec."""

    def __init__(self, logs: Path, mode: str = "fork", timeout: float = 10.0, memory: int = GiB):
        self.logs, self.mode, self.timeout, self.memory = logs, mode, timeout, memory
        self._local = threading.local()
        self._servers: list[ForkServer] = []
        self._lock = threading.Lock()

    def run(
        self, args: list[str], mode: str | None = None, timeout: float | None = None
    ) -> Outcome:
        timeout = timeout or self.timeout
        if (mode or self.mode) == "exec":
            return run_exec(args, self.logs, timeout, self.memory)
        server = getattr(self._local, "server", None)
        if server is None or server.proc.poll() is not None:
            server = self._local.server = ForkServer(self.logs)
            with self._lock:
                self._servers.append(server)
        return server.run(args, timeout, self.memory)

    def close(self) -> None:
        for server in self._servers:
            server.close()


# ------------------------------------------------------------------ classification

STATUSES = ("Valide", "À corriger", "Illisible")
FLOOD_BYTES = 1024 * 1024  # JSON of one workbook's anomalies
FLOOD_PER_CODE = 51  # SPEC §5.3: 50 of one code on one sheet, then one that counts the rest
_FRAME_RE = re.compile(r'File "([^"]+)", line (\d+)(?:, in |\s+in )(\S+)')
_PANIC_RE = re.compile(r"panicked at (?:'[^']*', )?([^\s:]+):(\d+)")
_ENGLISH_RE = re.compile(
    r"\b(?:the|and|of|is|not|error|warning|warn|invalid|failed|cannot|could|unexpected|"
    r"expected|found|missing|panicked|called|value|memory|allocation|thread|index|"
    r"unsupported|deprecated|traceback|exception|unknown|file)\b",
    re.IGNORECASE,
)
_QUOTED_RE = re.compile(r"«[^»]*»|\"[^\"]*\"|'[^']*'|`[^`]*`")


@dataclass
class Verdict:
    """What an outcome means: `kind` "ok" or a failure kind, and the class `key` that
    deduplicates failures (kind and where)."""

    kind: str
    key: str
    detail: str = ""
    statut: str = ""
    codes: list[str] = field(default_factory=list)
    cells: list[tuple[str, str]] = field(default_factory=list)  # (sheet, cell) of each

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


def _short(path: str) -> str:
    """`…/mentorat_budget/read.py` -> `read.py`; a Rust source -> `crate/file.rs`."""
    parts = path.replace("\\", "/").split("/")
    if "mentorat_budget" in parts:
        return "/".join(parts[parts.index("mentorat_budget") + 1 :])
    if "library" in parts:  # the Rust standard library: library/alloc/src/raw_vec.rs
        return "/".join(parts[parts.index("library") + 1 :][:1] + parts[-1:])
    crate = next((p for p in reversed(parts[:-1]) if re.search(r"-\d+\.\d+", p)), "")
    return f"{re.sub(r'-[0-9.]+$', '', crate)}/{parts[-1]}" if crate else parts[-1]


def project_frame(text: str, innermost_last: bool = True) -> str:
    """`read.py:_read` for the innermost frame in the package of a traceback (or, for a
    faulthandler dump, most recent first, the first one)."""
    frames = [(f, fn) for f, _, fn in _FRAME_RE.findall(text) if "/mentorat_budget/" in f]
    if not frames:
        return "?"
    f, fn = frames[-1] if innermost_last else frames[0]
    return f"{_short(f)}:{fn}"


def panic_site(text: str) -> str:
    m = _PANIC_RE.search(text)
    return f"{_short(m[1])}:{m[2]}" if m else ""


def _exception(text: str) -> tuple[str, str]:
    """(type, message) of the last exception of a traceback."""
    block = text[text.rfind("Traceback (most recent call last)") :]
    for line in reversed(block.splitlines()):
        if line and not line.startswith((" ", "\t", "Traceback")):
            kind, _, message = line.partition(":")
            return kind.strip().rpartition(".")[2], message.strip()
    return "?", ""


_HEADLINE_RE = re.compile(r"memory allocation of .*|.*panicked at.*|Fatal Python error: .*")


def headline(text: str) -> str:
    """The lines that say why a process died (allocation failure, panic, fatal error)."""
    return " / ".join(m[0].strip() for m in _HEADLINE_RE.finditer(text))[:300]


def normalise(text: str, size: int = 70) -> str:
    text = re.sub(r"/[\w./+-]+", "CHEMIN", text)
    text = re.sub(r"\d+", "N", text)
    return " ".join(text.split())[:size].rstrip()


def english(text: str) -> str:
    """An English word of `text` outside quotes ('' when none)."""
    m = _ENGLISH_RE.search(_QUOTED_RE.sub("", text))
    return m[0].lower() if m else ""


def classify(o: Outcome, expect_exit: tuple[int, ...] = (0, 1)) -> Verdict:
    """The verdict on one `verifier --json` (or, with expect_exit=(0,), `bilan`)."""
    err = o.stderr.decode("utf-8", "replace")
    out = o.stdout.decode("utf-8", "replace")
    both = err + "\n" + out
    if o.timed_out:
        where = project_frame(err, innermost_last=False)
        return Verdict("timeout", f"timeout@{where}", f"arrêt à {o.seconds:.0f} s")
    if o.signal:
        name = (
            signal.Signals(o.signal).name if o.signal in signal.valid_signals() else str(o.signal)
        )
        reason = ("allocation" if "memory allocation of" in both else panic_site(both)
                  or normalise(re.search(r"Fatal Python error: (.*)", both)[1], 40)
                  if "Fatal Python error" in both else "")  # fmt: skip
        where = project_frame(err, innermost_last=False)
        return Verdict("signal", f"signal:{name}@{where}[{reason}]", headline(both))
    if "Traceback (most recent call last)" in both:
        kind, message = _exception(both)
        site = panic_site(both)
        family = "oom" if kind == "MemoryError" else "traceback"
        # the panic site tells panics apart; a PicklingError (the batch could not send a
        # worker's panic back) is one class whatever the panic
        at = f"[{site}]" if site and kind == "PanicException" else ""
        key = f"{family}:{kind}@{project_frame(both)}{at}"
        return Verdict(family, key, f"{kind}: {message[:200]}")
    if o.returncode == 2:
        return Verdict("exit2", f"exit2:{normalise(err, 60)}", err[-300:])
    if o.returncode not in expect_exit:
        return Verdict("exit", f"exit:{o.returncode}", err[-300:])
    if expect_exit != (0, 1):  # a bilan: its outputs are checked elsewhere
        return _stderr_verdict(err) or Verdict("ok", "ok")
    try:
        report = json.loads(out)
        statut, anomalies = report["statut"], report["anomalies"]
        codes = [a["code"] for a in anomalies]
    except (ValueError, KeyError, TypeError):
        return Verdict("bad-json", "bad-json", out[:300])
    if statut not in STATUSES:
        return Verdict("bad-json", f"bad-status:{statut}")
    if o.returncode != (1 if statut == "Illisible" or report.get("bloquantes") else 0):
        return Verdict("exit", f"exit-mismatch:{o.returncode}:{statut}")
    internal = [a for a in anomalies if "erreur interne" in a.get("message", "")]
    if internal:
        kind = re.search(r"erreur interne (\w+)", internal[0]["message"])
        return Verdict("internal-error", f"internal-error:{kind[1] if kind else '?'}",
                       internal[0]["message"][:300])  # fmt: skip
    verdict = _stderr_verdict(err)
    if verdict:
        return verdict
    for a in anomalies:
        text = a.get("message", "").replace(str(a.get("valeur", "")), "")
        word = english(text)
        if word:
            return Verdict("english", f"english-message:{a['code']}:{word}", a["message"][:300])
    if len(o.stdout) > FLOOD_BYTES:
        return Verdict("flood", "flood:json-size", f"{len(o.stdout) / 2**20:.1f} Mo de JSON")
    # one class for every code: the cap of SPEC §5.3 is one fix
    per_code: dict[tuple[str, str], int] = {}
    for a in anomalies:
        per_code[a["code"], a["feuille"]] = per_code.get((a["code"], a["feuille"]), 0) + 1
    worst = max(per_code.items(), key=lambda kv: kv[1], default=(("", ""), 0))
    if worst[1] > FLOOD_PER_CODE:
        (code, sheet), n = worst
        return Verdict("flood", "flood:repeated-code", f"{n} anomalies {code} sur « {sheet} »")
    cells = [(a["feuille"], a["cellule"]) for a in anomalies]
    return Verdict("ok", "ok", statut=statut, codes=codes, cells=cells)


def _stderr_verdict(err: str) -> Verdict | None:
    """Anything on the standard error of a command that succeeded: English (a library's
    warning), or French that `--json` should not print."""
    text = err.strip()
    if not text:
        return None
    if "panicked at" in text or "memory allocation of" in text:  # a child's last words
        what = "rust-panic" if "panicked at" in text else "allocation-failure"
        return Verdict("english", f"english:{what}", headline(text))
    if english(text):
        first = next(line for line in text.splitlines() if english(line))
        return Verdict("english", f"english:{normalise(first, 60)}", first[:300])
    return None
