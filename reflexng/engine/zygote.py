"""A pre-imported helper process that forks job children (cheaper than starting Python per job).

The engine starts ``python -m reflexng.engine.zygote FD`` once per process, with one end of a
``SOCK_SEQPACKET`` socket pair. The helper imports reflexng, astropy and the built-in recipe
modules once, then for every request (a JSON message carrying the stdout/stderr pipe ends as
file descriptors) forks a child that runs :func:`reflexng.engine.child.run_job` in its own
process group. It answers ``{"id", "pid"}`` after the fork and ``{"exit": pid, "code"}`` when a
child ends, with the request id (negative code = killed by that signal). When the engine goes away (the socket
closes) the helper kills every child's process group and exits; children also die with the
helper (``PR_SET_PDEATHSIG``).

Unlike ``multiprocessing``'s forkserver this never re-runs the application's ``__main__``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

MAX_FDS = 4


def _set_pdeathsig() -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


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


def serve(sock: socket.socket) -> None:
    import gc

    import reflexng.engine._preload  # noqa: F401 - the point of this helper

    gc.collect()
    gc.freeze()  # children's garbage collector leaves the inherited objects alone (no copy-on-write)

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
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            rid = children.pop(pid, None)
            send({"exit": pid, "id": rid, "code": os.waitstatus_to_exitcode(status)})

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
