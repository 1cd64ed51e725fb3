"""A warm worker process of the ``spawn`` executor: imports once, then runs jobs one at a time.

Started as ``python -P -m reflexng.engine.executors.spawn_worker TOKEN`` with three pipes
(portable: no ``fork``, no ``AF_UNIX``, no ``fcntl``). Requests arrive on stdin, one JSON line
each (``{"attempt_dir": ...}``). The job's output goes to stdout and stderr as the recipe writes
it; control messages are lines starting with ``\\x1e TOKEN`` on the same pipes, so the engine
knows where a job's output ends: ``ready`` once imported, then per job ``end`` on stderr and
``{"exit": status, "cpu_s", "peak_rss_kb"}`` on stdout.

Between jobs the worker restores its working directory, environment, ``sys.path`` and drops
modules the job imported from outside the installed packages (a user's recipe folder), and kills
whatever the job left running (it is a child subreaper on Linux, so ``setsid()`` daemons are
found too). A job that crashes the worker (a segfault, ``os._exit``) costs the worker; the
executor starts another.
"""

from __future__ import annotations

import json
import os
import sys
import time

MARK = "\x1e"


def _peak_reset() -> None:
    try:  # Linux: reset this process's peak RSS (VmHWM) so the next reading is this job's
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _peak_kb() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    own = int(line.split()[1])
                    break
            else:
                own = None
    except OSError:
        own = None
    try:
        import resource

        scale = 1 if sys.platform.startswith("linux") else 1 / 1024  # macOS reports bytes
        kids = int(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale)
        if own is None:
            own = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale)  # lifetime peak
        return max(own, kids)
    except Exception:
        pass
    if own is None:
        try:
            import psutil  # Windows, when installed

            info = psutil.Process().memory_info()
            own = int(getattr(info, "peak_wset", info.rss) / 1024)
        except Exception:
            return None
    return own


def _cpu_now() -> float:
    try:
        import resource

        s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
    except Exception:
        return time.process_time()


class _Worker:
    def __init__(self, token: str) -> None:
        self.mark = f"{MARK}{token} ".encode()
        # private copies of the request and output pipes; the job gets /dev/null as stdin
        self.req = os.fdopen(os.dup(0), "rb", buffering=0)
        self.ctl = os.dup(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        sys.stdout = open(1, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        sys.stderr = open(2, "w", buffering=1, closefd=False, encoding="utf-8", errors="replace")
        sys.stdin = open(0, closefd=False)
        self.base_path = [p for p in sys.path if p]

    def send(self, fd: int, msg: object) -> None:
        os.write(fd, self.mark + json.dumps(msg).encode() + b"\n")

    def _installed(self, name: str, mod: object) -> bool:
        if name.split(".")[0] == "reflexng":
            return True
        f = getattr(mod, "__file__", None)
        if not f:
            return True
        f = os.path.abspath(f)
        return any(f.startswith(p + os.sep) for p in self.base_path)

    def run_one(self, attempt_dir: str) -> None:
        from reflexng.engine.child import run_job
        from reflexng.engine.executors import _procs

        cwd, env, path, mods = os.getcwd(), dict(os.environ), list(sys.path), set(sys.modules)
        _peak_reset()
        cpu0 = _cpu_now()
        code = 1
        try:
            code = run_job(attempt_dir)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - report anything, end with a status
            import traceback

            traceback.print_exc()
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        _procs.kill_descendants(os.getpid())  # what the job left running
        _procs.reap_children_nowait()
        cpu = _cpu_now() - cpu0
        peak = _peak_kb()
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        sys.path[:] = path
        for name in set(sys.modules) - mods:
            if not self._installed(name, sys.modules.get(name)):
                sys.modules.pop(name, None)
        self.send(2, "end")
        self.send(self.ctl, {"exit": code, "cpu_s": round(cpu, 4), "peak_rss_kb": peak})

    def _requests(self, q) -> None:
        """Read requests; at EOF (the engine closed us, or died) end — mid-job, with the job's children."""
        while True:
            line = self.req.readline()
            if not line:
                break
            q.put(json.loads(line))
        if self.busy:
            from reflexng.engine.executors import _procs

            _procs.kill_descendants(os.getpid())
            os._exit(1)
        q.put(None)

    def serve(self) -> None:
        import queue
        import threading

        q: queue.Queue = queue.Queue()
        self.busy = False
        threading.Thread(target=self._requests, args=(q,), daemon=True).start()
        self.send(self.ctl, {"ready": os.getpid()})
        while True:
            req = q.get()
            if req is None:
                return
            self.busy = True
            self.run_one(req["attempt_dir"])
            self.busy = False


def main() -> None:
    from reflexng.engine.executors import _procs

    _procs.become_subreaper()  # no PR_SET_PDEATHSIG: it fires when the *thread* that started us ends
    import gc

    import reflexng.engine._preload  # noqa: F401 - the point of a warm worker
    from reflexng.engine.zygote import warm_up

    warm_up()  # the first real job does not pay the lazy initialisations either
    gc.collect()
    worker = _Worker(sys.argv[1])
    try:
        worker.serve()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
