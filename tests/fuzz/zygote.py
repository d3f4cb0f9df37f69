"""The fork server of oracle.py: imports what `verifier` imports, then for each request
(one JSON line on stdin) forks a child that runs the CLI under the limits, waits for it,
and answers one JSON line on stdout. Run as `python -m tests.fuzz.zygote`."""

from __future__ import annotations

import atexit
import faulthandler
import json
import os
import signal
import sys
import time
import traceback


def _child(request: dict) -> None:
    """In the forked child: become `python -m mentorat_budget ARGS`; never returns."""
    from .oracle import _limit

    code = 1
    try:
        os.setsid()
        _limit(request["memory"])
        os.chdir(request["cwd"])
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(request["err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for fd, target in ((null, 0), (out, 1), (err, 2)):
            os.dup2(fd, target)
            os.close(fd)
        faulthandler.enable(file=sys.stderr, all_threads=True)
        faulthandler.register(signal.SIGUSR2, file=sys.stderr, all_threads=True)
        sys.argv = ["mentorat-budget", *request["args"]]
        from mentorat_budget.cli import main

        main(args=request["args"], prog_name="mentorat-budget")
        code = 0
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
        if not isinstance(done.code, int | None):
            print(done.code, file=sys.stderr)
    except BaseException:  # as the interpreter does for an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        try:
            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def serve() -> None:
    # What `verifier` imports, once (the children inherit it).
    import pandas  # noqa: F401
    import python_calamine  # noqa: F401

    import mentorat_budget.cli
    import mentorat_budget.report
    import mentorat_budget.verify

    from .oracle import _wait

    del mentorat_budget
    reply = os.fdopen(os.dup(1), "wb", buffering=0)
    os.write(reply.fileno(), b"ready\n")
    for line in sys.stdin.buffer:
        request = json.loads(line)
        sys.stdout.flush()
        sys.stderr.flush()
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(request)
        status, usage, timed_out = _wait(pid, request["timeout"], start)
        answer = {
            "returncode": os.waitstatus_to_exitcode(status),
            "timed_out": timed_out,
            "seconds": time.monotonic() - start,
            "maxrss": usage.ru_maxrss * 1024,
        }
        reply.write(json.dumps(answer).encode() + b"\n")


if __name__ == "__main__":
    serve()
