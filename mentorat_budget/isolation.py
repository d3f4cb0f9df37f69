"""Untrusted files are parsed in child processes, under limits (SPEC §8, Containment).

The checks before parsing (read.py) give precise messages for the dangers they know; the
guarantee is here. A `Pool` keeps long-lived worker processes, each with a limit on its
address space (RLIMIT_AS) and no core dump, and gives each task a wall-clock limit. A
worker that runs out of memory, overruns, aborts (a library's failed allocation), dies of
a signal, panics (python-calamine's `PanicException` is a BaseException) or sends back a
result that cannot be unpickled costs that one task: the caller gets a `Failure` saying
why, the worker is replaced, and the other tasks go on.

After a MemoryError or any BaseException a worker reports its task and exits, to be
replaced: a pyo3 panic after a MemoryError can leave the process blocked on a futex.

One thread of the parent (the supervisor) feeds the workers and collects their results,
so that they keep reading while the caller's thread does other work (a batch checks its
lots meanwhile); workers are started and restarted from the caller's thread only (never
forked from the supervisor). The start method is a parameter: "fork" is cheap and right
for the CLI; a threaded server (the guichet) should use "forkserver" or "spawn".

Nothing here knows about workbooks: tasks are module-level functions and their arguments.
"""

from __future__ import annotations

import contextlib
import faulthandler
import multiprocessing
import os
import resource
import signal
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait

MiB = 1024 * 1024
MEMORY_ENV = "MENTORAT_LECTURE_MEMOIRE_MO"  # address space of one worker, in MiB
SECONDS_ENV = "MENTORAT_LECTURE_SECONDES"  # wall-clock limit of one task
DEFAULT_MEMORY = 1024 * MiB
DEFAULT_SECONDS = 120.0  # a legit 50 000-row workbook reads in a few seconds
# Test-only: "dort:NAME,abandonne:NAME" makes the worker sleep for ever, or abort, on a
# task whose first argument is a path named NAME (tests/test_isolation.py).
TEST_HOOK_ENV = "MENTORAT_ESSAI_LECTEUR"

# fork where there is one (cheap; Python 3.14 makes forkserver the default): callers that
# run threads (a server) pass "forkserver" or "spawn".
DEFAULT_CONTEXT = "fork" if "fork" in multiprocessing.get_all_start_methods() else None

# Why a task did not return.
MEMOIRE, DUREE, ARRET, ERREUR = "mémoire", "durée", "arrêt", "erreur"
_EXIT_MEMORY, _EXIT_CRASH = 3, 4  # a worker's exit codes after a MemoryError, a panic
_GRACE = 10  # seconds after the limit when a worker's own alarm kills it


@dataclass(frozen=True)
class Limits:
    memory: int = DEFAULT_MEMORY  # bytes of address space per worker (RLIMIT_AS)
    seconds: float = DEFAULT_SECONDS  # per task, wall clock

    @classmethod
    def from_environment(cls) -> Limits:
        """The defaults, or MENTORAT_LECTURE_MEMOIRE_MO and MENTORAT_LECTURE_SECONDES."""
        memory, seconds = cls.memory, cls.seconds
        with contextlib.suppress(ValueError):
            memory = int(float(os.environ.get(MEMORY_ENV, "")) * MiB)
        with contextlib.suppress(ValueError):
            seconds = float(os.environ.get(SECONDS_ENV, ""))
        return cls(memory if memory > 0 else cls.memory, seconds if seconds > 0 else cls.seconds)


@dataclass(frozen=True)
class Failure:
    """A task that did not return: MEMOIRE, DUREE, ARRET (the worker died or its result
    could not be read back), or ERREUR (the task raised an exception: `detail`)."""

    reason: str
    detail: str = ""
    limit: float = 0  # MEMOIRE: the bytes allowed; DUREE: the seconds


class Contained(Exception):
    """`Pool.call`: the task's worker ran out of memory, overran or died."""

    def __init__(self, failure: Failure):
        super().__init__(failure.reason, failure.detail)
        self.failure = failure


# ---------------------------------------------------------------------- the worker


def _serve(tasks: Connection, results: Connection, limits: Limits, stderr: str, setup, close):
    """A worker's life: limits, then tasks one by one until the parent closes the pipe."""
    for fd in close:  # (fork) the parent's ends of every pipe: EOF when the parent dies
        with contextlib.suppress(OSError):
            os.close(fd)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGALRM, signal.SIG_DFL)  # the alarm below kills, even if hung
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    soft = limits.memory if hard == resource.RLIM_INFINITY else min(limits.memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    # What a library prints when it panics or aborts (in English) goes to a file the parent
    # reads to say why; never to the user's terminal.
    fd = os.open(stderr, os.O_WRONLY | os.O_TRUNC)
    os.dup2(fd, 2)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(stderr)  # the parent reads it through its own descriptor
    faulthandler.disable()  # (pytest, PYTHONFAULTHANDLER) it writes to another descriptor
    hooks = _test_hooks()
    if setup is not None:
        setup()
    results.send(("ready", None))  # the clock of its first task starts now
    while True:
        try:
            function, args = tasks.recv()
        except (EOFError, OSError):
            return
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
        # The parent kills an overrun at the limit; the kernel does, a little later, if the
        # parent itself is gone (a worker blocked on a futex would live on otherwise).
        signal.alarm(int(limits.seconds) + _GRACE)
        try:
            _hook(hooks, args)
            outcome = ("ok", function(*args))
        except MemoryError:
            _last_words(results, ("crash", MEMOIRE), _EXIT_MEMORY)
        except Exception as error:
            outcome = ("raised", _portable(error))
        except BaseException as error:  # PanicException, SystemExit, KeyboardInterrupt
            _last_words(results, ("crash", f"{type(error).__name__}"), _EXIT_CRASH)
        signal.alarm(0)
        try:
            results.send(outcome)
        except MemoryError:
            _last_words(results, ("crash", MEMOIRE), _EXIT_MEMORY)
        except (OSError, EOFError):
            return
        except Exception as error:  # a result that cannot be pickled
            results.send(("raised", RuntimeError(f"résultat intransmissible : {error}")))


def _last_words(results: Connection, message: tuple, code: int) -> None:
    with contextlib.suppress(BaseException):
        results.send(message)
    os._exit(code)


def _portable(error: Exception) -> Exception:
    """The exception if it survives pickling, else its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__} : {error}")
    return error


def _test_hooks() -> dict[str, str]:
    hooks = {}
    for item in filter(None, os.environ.get(TEST_HOOK_ENV, "").split(",")):
        action, _, name = item.partition(":")
        hooks[name] = action
    return hooks


def _hook(hooks: dict[str, str], args: tuple) -> None:
    if not hooks or not args:
        return
    action = hooks.get(os.path.basename(str(args[0])))
    if action == "dort":
        time.sleep(10**6)
    elif action == "abandonne":
        os.abort()


# ------------------------------------------------------------------------ the pool


_PARENT_FDS: set[int] = set()  # every pool's own ends of its pipes, closed in forked children


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    tasks: Connection  # parent -> worker
    results: Connection  # worker -> parent
    fds: tuple[int, ...]  # the parent's descriptors, in _PARENT_FDS while open
    stderr: str  # the file its fd 2 writes to: removed once the worker has opened it
    printed: int  # the parent's descriptor of that file, to read it after a death
    queue: deque = field(default_factory=deque)  # ids sent to it, in the order it runs them
    started: float = 0.0  # when the first task of `queue` began
    ready: bool = False  # started and set up: tasks may be sent
    dead: bool = False  # to be replaced


class Pool:
    """Long-lived worker processes under `limits`, safe to share between threads.

    `workers`: processes, started when tasks come; `context`: the start method, "fork"
    (DEFAULT_CONTEXT) for a process that runs no threads of its own (the CLI), else
    "forkserver" or "spawn" (a server); `limits`: Limits.from_environment() when None;
    `setup`: a module-level function each worker calls once started; `depth`: tasks sent
    ahead to each worker. A task is a module-level function and its arguments, pickled to
    the worker, its result pickled back. Use as a context manager, or call close().
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        context: str | None = None,
        limits: Limits | None = None,
        setup: Callable[[], object] | None = None,
        depth: int = 2,
    ):
        self.context = multiprocessing.get_context(context or DEFAULT_CONTEXT)
        self.limits = limits or Limits.from_environment()
        self.size, self.setup, self.depth = max(1, workers), setup, max(1, depth)
        self._workers: list[_Worker | None] = [None] * self.size
        self._lock = threading.Condition()
        self._pending: deque[int] = deque()  # ids not yet sent to a worker
        self._tasks: dict[int, tuple] = {}  # id -> (function, args), until handed back
        self._done: dict[int, tuple] = {}  # id -> ("ok", result) | ("raised", exc) | ...
        self._next_id = 0
        self._closed = False
        self._wake_r, self._wake_w = os.pipe()
        _PARENT_FDS.update((self._wake_r, self._wake_w))
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the caller's side

    def call(self, function: Callable, *args):
        """function(*args) in a worker: its result, or its exception raised again, or
        Contained when the worker ran out of memory, overran or died."""
        kind, value = self._wait(self._submit([(function, args)])[0])
        if kind == "ok":
            return value
        if kind == "raised":
            raise value
        raise Contained(value)

    def map(
        self, function: Callable, tasks: Iterable[tuple], window: int = 256, first: bool = False
    ) -> Iterator:
        """function(*args) for each tuple of args, in order: each result, or a Failure.
        At most `window` tasks are submitted and not yet handed back (their results wait in
        memory); `first`: before the tasks already waiting (all submitted at once)."""
        ids: deque[int] = deque()
        try:
            if first:
                ids.extend(self._submit([(function, args) for args in tasks], first=True))
            for args in () if first else tasks:
                ids.extend(self._submit([(function, args)]))
                if len(ids) >= window:
                    yield self._value(self._wait(ids.popleft()))
            while ids:
                yield self._value(self._wait(ids.popleft()))
        finally:
            self._abandon(ids)

    def close(self) -> None:
        """Stop the supervisor and the workers (those still busy are killed)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake()
        if self._thread is not None:
            self._thread.join()
        for worker in filter(None, self._workers):
            self._stop(worker)
        for fd in (self._wake_r, self._wake_w):
            _PARENT_FDS.discard(fd)
            os.close(fd)

    def _submit(self, tasks: list[tuple], first: bool = False) -> list[int]:
        with self._lock:
            if self._closed:
                raise RuntimeError("Pool fermé")
            ids = list(range(self._next_id, self._next_id + len(tasks)))
            self._next_id += len(tasks)
            self._tasks.update(zip(ids, tasks, strict=True))
            if first:
                self._pending.extendleft(reversed(ids))
            else:
                self._pending.extend(ids)
            self._start_workers()
        self._wake()
        return ids

    def _wait(self, task: int) -> tuple:
        with self._lock:
            while task not in self._done:
                if self._closed:
                    raise RuntimeError("Pool fermé")
                self._start_workers()  # replaces the workers that died meanwhile
                self._lock.wait(0.5)
            del self._tasks[task]
            return self._done.pop(task)

    @staticmethod
    def _value(done: tuple):
        kind, value = done
        if kind == "ok":
            return value
        if kind == "raised":
            return Failure(ERREUR, f"{type(value).__name__} : {value}")
        return value

    def _abandon(self, ids: Iterable[int]) -> None:
        """Tasks whose results will not be asked for (a map left early)."""
        with self._lock:
            for task in ids:
                if task in self._done:
                    del self._done[task], self._tasks[task]
                else:
                    self._tasks[task] = None  # dropped when it comes back, or before sent

    # -- workers: started from the caller's thread, under the lock

    def _start_workers(self) -> None:
        for i, worker in enumerate(self._workers):
            if worker is not None and worker.dead:
                self._stop(worker)
                worker = self._workers[i] = None
            if worker is None and self._pending:
                self._workers[i] = self._spawn()
        if self._thread is None:
            self._thread = threading.Thread(target=self._supervise, daemon=True)
            self._thread.start()

    def _spawn(self) -> _Worker:
        task_r, task_w = self.context.Pipe(duplex=False)
        result_r, result_w = self.context.Pipe(duplex=False)
        printed, stderr = tempfile.mkstemp(prefix="mentorat-lecteur-", suffix=".txt")
        mine = (task_w.fileno(), result_r.fileno(), printed)
        forked = self.context.get_start_method() == "fork"
        process = self.context.Process(
            target=_serve,
            args=(task_r, result_w, self.limits, stderr, self.setup,
                  sorted(_PARENT_FDS.union(mine)) if forked else []),
            daemon=True,
        )  # fmt: skip
        process.start()
        task_r.close()
        result_w.close()
        _PARENT_FDS.update(mine)
        self._wake()  # the supervisor waits on the new worker too
        return _Worker(process, task_w, result_r, mine, stderr, printed)

    def _stop(self, worker: _Worker) -> None:
        if worker.queue or worker.dead:
            with contextlib.suppress(OSError):
                os.kill(worker.process.pid, signal.SIGKILL)
        worker.tasks.close()  # an idle worker's recv ends: it exits
        worker.process.join(5)
        if worker.process.is_alive():
            with contextlib.suppress(OSError):
                os.kill(worker.process.pid, signal.SIGKILL)
            worker.process.join()
        worker.results.close()
        os.close(worker.printed)
        _PARENT_FDS.difference_update(worker.fds)
        with contextlib.suppress(OSError):
            os.unlink(worker.stderr)  # (if it died before it was ready)

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    # -- the supervisor thread: sends, receives, enforces the time limit

    def _supervise(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                self._dispatch()
                live = [w for w in self._workers if w is not None and not w.dead]
                deadlines = [w.started + self.limits.seconds for w in live if w.queue]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            waits = [self._wake_r]
            for w in live:
                waits += [w.results, w.process.sentinel]
            ready = wait(waits, timeout)
            if self._wake_r in ready:
                os.read(self._wake_r, 4096)
            with self._lock:
                for w in live:
                    self._collect(w, ready)
                self._lock.notify_all()

    def _dispatch(self) -> None:
        for w in self._workers:
            while (
                w is not None
                and w.ready
                and not w.dead
                and self._pending
                and len(w.queue) < self.depth
            ):
                task = self._pending.popleft()
                if self._tasks[task] is None:  # abandoned
                    del self._tasks[task]
                    continue
                try:
                    w.tasks.send(self._tasks[task])
                except OSError:  # the worker is gone: its sentinel says so
                    self._pending.appendleft(task)
                    break
                except Exception as error:  # a task that cannot be pickled
                    self._finish(task, ("raised", RuntimeError(f"tâche intransmissible : {error}")))
                    continue
                if not w.queue:
                    w.started = time.monotonic()
                w.queue.append(task)

    def _collect(self, w: _Worker, ready: list) -> None:
        if w.results in ready or w.process.sentinel in ready:
            while w.results.poll():
                try:
                    message = w.results.recv()
                except (EOFError, OSError):  # died, maybe while sending
                    break
                except Exception:  # a result that cannot be unpickled: the worker goes too
                    self._fail(w, Failure(ARRET, "résultat illisible"), kill=True)
                    return
                if message[0] == "ready":
                    w.ready = True
                    continue
                if not w.queue:  # nothing was asked of it
                    continue
                if message[0] == "crash":
                    memory = message[1] == MEMOIRE
                    failure = Failure(MEMOIRE, "", self.limits.memory) if memory else None
                    self._fail(w, failure or Failure(ARRET, message[1]), kill=True)
                    return
                self._finish(w.queue.popleft(), message)
                w.started = time.monotonic()
        if w.queue and time.monotonic() - w.started >= self.limits.seconds:
            self._fail(w, Failure(DUREE, "", self.limits.seconds), kill=True)
        elif not w.process.is_alive():
            self._fail(w, self._death(w))

    def _finish(self, task: int, message: tuple) -> None:
        if self._tasks.get(task, ()) is None:  # abandoned
            del self._tasks[task]
        else:
            self._done[task] = message

    def _fail(self, w: _Worker, failure: Failure, kill: bool = False) -> None:
        """The task the worker was running fails; those queued after it go back to the
        front of the pending ones; the worker is replaced."""
        if kill:
            with contextlib.suppress(OSError):
                os.kill(w.process.pid, signal.SIGKILL)
        if w.queue:
            self._finish(w.queue.popleft(), ("failed", failure))
        self._pending.extendleft(reversed(w.queue))
        w.queue.clear()
        w.dead = True

    def _death(self, w: _Worker) -> Failure:
        """Why a worker died: what it printed (a failed allocation), else its signal."""
        w.process.join(1)
        try:
            printed = os.pread(w.printed, 1 << 16, 0)
        except OSError:
            printed = b""
        code = w.process.exitcode
        if code == _EXIT_MEMORY or b"memory allocation of" in printed:
            return Failure(MEMOIRE, "allocation refusée", self.limits.memory)
        if code == -signal.SIGALRM:
            return Failure(DUREE, "", self.limits.seconds)
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                return Failure(ARRET, signal.Signals(-code).name)
        return Failure(ARRET, f"code de sortie {code}")


def call(function: Callable, *args, pool: Pool | None = None, context: str | None = None):
    """function(*args) contained: in `pool`, or in a worker started for this call."""
    if pool is not None:
        return pool.call(function, *args)
    with Pool(1, context=context) as own:
        return own.call(function, *args)
