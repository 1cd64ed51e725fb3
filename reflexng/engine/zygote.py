"""A pre-imported helper process that forks job children (cheaper than starting Python per job).

The engine starts ``python -m reflexng.engine.zygote FD`` once per process, with one end of a
``SOCK_SEQPACKET`` socket pair. The helper imports reflexng, astropy and the built-in recipe
modules once, then for every request (a JSON message carrying the stdout/stderr pipe ends as
file descriptors) forks a child that runs :func:`reflexng.engine.child.run_job` in its own
process group. It answers ``{"id", "pid"}`` after the fork and ``{"exit": pid, "code"}`` when a
child ends, with the request id (negative code = killed by that signal), its CPU time and peak
memory (``wait4``). When the engine goes away (the socket closes) the helper kills every child's
process group and exits; children also die with the helper (``PR_SET_PDEATHSIG``).

No descendant outlives its job: the helper and every job child are child subreapers (Linux), so
a daemon that left the job's process group with ``setsid()`` is re-parented to the job child
(which kills its descendants before it exits) or, when the job child was killed, to the helper
(which kills such orphans when it reaps the job). The engine starts the helper with ``-P``
(``-I`` before Python 3.11): the working directory is not on ``sys.path``, so a ``numpy.py``
lying there is never imported.

Unlike ``multiprocessing``'s forkserver this never re-runs the application's ``__main__``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from reflexng.engine.executors import _procs

MAX_FDS = 4


def _set_pdeathsig() -> None:
    _procs.die_with_parent(signal.SIGKILL)


def _child(sock: socket.socket, wake_r: int, wake_w: int, attempt_dir: str, fds: list[int]) -> None:
    code = 1
    try:
        sock.close()
        os.close(wake_r)
        os.close(wake_w)
        signal.set_wakeup_fd(-1)
        for s in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
            signal.signal(s, signal.SIG_DFL)
        os.setsid()
        _set_pdeathsig()
        _procs.become_subreaper()
        if os.getppid() == 1:
            os._exit(1)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        from reflexng.engine.child import run_job

        code = run_job(attempt_dir)
        _procs.kill_descendants(os.getpid())  # what the recipe left running (setsid daemons too)
    except BaseException:  # noqa: BLE001 - report anything, exit with a status
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)


def warm_up() -> None:
    """Run one job of the shipped placeholder recipe here, in a temporary folder, so that what a
    job initialises lazily (the recipe registry, astropy's header and file machinery: it reads a
    FITS header and writes a header-only product) is done once and inherited by every child
    (halves a no-op job's CPU time in the child). Nothing of it may fail the helper."""
    import tempfile

    cwd, out, err = os.getcwd(), sys.stdout, sys.stderr
    try:
        from astropy.io import fits

        from reflexng.recipes.placeholder import CATEGORIES, PREFIX

        with tempfile.TemporaryDirectory(prefix="reflexng-warm-") as tmp, open(os.devnull, "w") as null:
            raw = os.path.join(tmp, "raw.fits")
            hdr = fits.Header()
            hdr["OBJECT"] = "WARM"
            hdr["HIERARCH ESO DPR TYPE"] = "SCI"
            fits.PrimaryHDU(header=hdr).writeto(raw)
            os.mkdir(os.path.join(tmp, "tmp"))
            spec = {"job_id": "warm-up", "task": "warm-up", "recipe": PREFIX + "warm-up", "recipe_version": "1",
                    "inputs": [{"path": raw, "category": "RAW", "role": "main", "hash": ""}],
                    "parameters": {CATEGORIES: ["WARM"]}, "output_dir": os.path.join(tmp, "tmp"),
                    "drs_id": "reflexng"}
            with open(os.path.join(tmp, "job.json"), "w") as fh:
                json.dump(spec, fh)
            sys.stdout = sys.stderr = null
            from reflexng.engine.child import run_job

            run_job(tmp)
    except Exception:
        pass
    finally:
        sys.stdout, sys.stderr = out, err
        os.chdir(cwd)


def serve(sock: socket.socket) -> None:
    import gc

    import reflexng.engine._preload  # noqa: F401 - the point of this helper

    warm_up()

    gc.collect()
    gc.freeze()  # children's garbage collector leaves the inherited objects alone (no copy-on-write)
    _procs.become_subreaper()

    children: dict[int, int] = {}  # pid -> request id
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    os.set_blocking(wake_r, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def send(msg: dict) -> None:
        try:
            sock.send(json.dumps(msg).encode())
        except OSError:
            pass

    def reap() -> None:
        ended = False
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            rid = children.pop(pid, None)
            if rid is None:  # an orphan re-parented to us (subreaper)
                continue
            ended = True
            try:
                os.killpg(pid, signal.SIGKILL)  # what is left of the job's process group
            except OSError:
                pass
            send({"exit": pid, "id": rid, "code": os.waitstatus_to_exitcode(status),
                  "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss})
        if ended:
            # live jobs catch their own orphans (subreapers), so any other child of ours is what
            # a job that just died left behind
            for pid in _procs.children_of(os.getpid()):
                if pid not in children:
                    _procs.kill_pids([pid, *_procs.descendants(pid)])

    try:
        while True:
            try:
                ready, _, _ = select.select([sock, wake_r], [], [])
            except InterruptedError:
                continue
            if wake_r in ready:
                try:
                    os.read(wake_r, 4096)
                except BlockingIOError:
                    pass
                reap()
            if sock in ready:
                try:
                    data, fds, _flags, _addr = socket.recv_fds(sock, 65536, MAX_FDS)
                except InterruptedError:
                    continue
                if not data:
                    break
                req = json.loads(data)
                pid = os.fork()
                if pid == 0:
                    _child(sock, wake_r, wake_w, req["attempt_dir"], fds)
                for fd in fds:
                    os.close(fd)
                children[pid] = req["id"]
                send({"id": req["id"], "pid": pid})
                reap()
    finally:
        for pid in list(children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


def main() -> None:
    fd = int(sys.argv[1])
    sock = socket.socket(fileno=fd)
    serve(sock)


if __name__ == "__main__":
    main()
