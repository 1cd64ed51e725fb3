"""``spawn`` executor: a pool of pre-started, warm-imported worker processes (every platform).

Only portable primitives: ``subprocess`` with three pipes and reader threads (no ``fork``, no
``AF_UNIX`` socket, no ``fcntl``, no ``select`` on pipes), so this is the default on macOS and
Windows and runs on Linux too. A worker (:mod:`reflexng.engine.executors.spawn_worker`) imports
reflexng, numpy, astropy and the built-in recipes once and then runs jobs one after the other, so a
job does not pay the imports. A job that crashes its worker, or is cancelled or timed out (the
worker's process group gets SIGTERM, then SIGKILL after the grace period; on Windows the worker is
terminated), costs that worker only; the pool starts a fresh one. The pool is shared by every
session of the process and keeps ``size`` workers warm.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reflexng.engine.executor import LOG_TAIL, SAFE_PATH_FLAGS, Outcome, _read_result, outcome_from
from reflexng.engine.executors import _procs
from reflexng.engine.executors.base import Executor, JobHandle, LineCallback, ThreadHandle

MARK = "\x1e"
_HOST = socket.gethostname()
_SIGKILL = getattr(signal, "SIGKILL", signal.SIGTERM)


class _Proc:
    """Engine side of one worker process."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(6)
        self.mark = f"{MARK}{self.token} "
        kw: dict[str, Any] = {}
        if os.name == "posix":
            kw["start_new_session"] = True  # its own process group: cancel reaches the recipe's children
        else:
            kw["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self.proc = subprocess.Popen(
            [sys.executable, *SAFE_PATH_FLAGS, "-m", "reflexng.engine.executors.spawn_worker", self.token],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
        self.pid = self.proc.pid
        self.cond = threading.Condition()
        self.ready = False
        self.eof = 0
        self.run: _SpawnRun | None = None
        self.jobs = 0
        for pipe, stream in ((self.proc.stdout, "stdout"), (self.proc.stderr, "stderr")):
            threading.Thread(target=self._read, args=(pipe, stream), name=f"reflexng-spawn-{stream}",
                             daemon=True).start()

    @property
    def dead(self) -> bool:
        return self.eof == 2 or self.proc.poll() is not None

    def _read(self, pipe, stream: str) -> None:
        partial = b""
        while True:
            try:
                raw = pipe.readline(65536)
            except (OSError, ValueError):
                raw = b""
            if not raw:
                break
            if not raw.endswith(b"\n") and len(raw) < 65536:
                partial += raw  # the rest of the line follows (readline stopped at EOF or the limit)
                continue
            line = (partial + raw).decode("utf-8", "replace").rstrip("\r\n")
            partial = b""
            k = line.find(self.mark)
            if k < 0:
                self._line(line, stream)
                continue
            if k > 0:
                self._line(line[:k], stream)
            try:
                msg = json.loads(line[k + len(self.mark):])
            except ValueError:
                continue
            self._control(msg, stream)
        if partial:
            self._line(partial.decode("utf-8", "replace"), stream)
        with self.cond:
            self.eof += 1
            self.cond.notify_all()

    def _line(self, line: str, stream: str) -> None:
        run = self.run
        if run is not None:
            run.emit(line, stream)

    def _control(self, msg: Any, stream: str) -> None:
        with self.cond:
            if isinstance(msg, dict) and "ready" in msg:
                self.ready = True
            elif self.run is not None:
                if msg == "end":
                    self.run.err_done = True
                elif isinstance(msg, dict) and "exit" in msg:
                    self.run.exit_msg = msg
            self.cond.notify_all()

    def send(self, attempt_dir: str) -> bool:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"attempt_dir": attempt_dir}).encode() + b"\n")
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            return False

    def signal(self, sig: int, extra: list[int] = ()) -> None:
        """Signal the worker's process group (POSIX) or terminate it (Windows), and ``extra`` pids."""
        if os.name == "posix":
            if not _procs.kill_group(self.pid, sig):
                _procs.kill_pids([self.pid], sig)
        else:
            try:
                self.proc.kill() if sig == _SIGKILL else self.proc.terminate()
            except OSError:
                pass
        _procs.kill_pids(extra, sig)

    def close(self) -> None:
        try:
            if self.proc.stdin:
                self.proc.stdin.close()  # the worker ends at EOF
        except OSError:
            pass
        try:
            self.proc.wait(2)
        except subprocess.TimeoutExpired:
            self.signal(_SIGKILL)
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                pass


class _Pool:
    """Warm workers shared by every spawn executor of this process: ``warm_size`` workers in all,
    idle or busy. A busy worker is not replaced while it works (a replacement would import on the
    cores the running jobs need, and be closed again when the busy one comes back)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Proc] = []
        self.busy = 0
        self.warm_size = 1

    def _fill(self) -> None:
        self.idle = [p for p in self.idle if not p.dead]
        while len(self.idle) + self.busy < self.warm_size:
            self.idle.append(_Proc())

    def warm(self, n: int) -> None:
        with self.lock:
            self.warm_size = max(self.warm_size, n)
            self._fill()

    def acquire(self) -> _Proc:
        with self.lock:
            self.idle = [p for p in self.idle if not p.dead]
            ready = [p for p in self.idle if p.ready]
            proc = (ready or self.idle or [None])[0]
            if proc is not None:
                self.idle.remove(proc)
            else:  # more jobs at once than warm workers: one more
                proc = _Proc()
            self.busy += 1
        return proc

    def release(self, proc: _Proc) -> None:
        """A worker is done with its job: idle again (or closed when the pool has enough)."""
        with self.lock:
            self.busy -= 1
            if not proc.dead and len(self.idle) + self.busy < max(self.warm_size, 1):
                self.idle.append(proc)
                return
        proc.close()

    def discard(self, proc: _Proc) -> None:
        """A busy worker was lost or stopped: close it and start its successor now, so the next
        job finds it warm."""
        proc.close()
        with self.lock:
            self.busy -= 1
            self._fill()

    def shutdown(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for p in idle:
            p.close()


_pool_lock = threading.Lock()
_pool: _Pool | None = None


def pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
            atexit.register(_pool.shutdown)
        return _pool


class _SpawnRun:
    """One attempt on a pool worker; ``run()`` blocks (on the handle's thread)."""

    def __init__(self, attempt_dir, on_line: LineCallback | None, timeout: float | None, grace: float) -> None:
        self.attempt_dir = Path(attempt_dir)
        self.on_line = on_line
        self.timeout = timeout
        self.grace = grace
        self._cancel = threading.Event()
        self.err_done = False
        self.exit_msg: dict[str, Any] | None = None
        self.tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        self._log = None
        self._log_lock = threading.Lock()
        self.proc: _Proc | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def cancel(self) -> None:
        self._cancel.set()
        proc = self.proc
        if proc is not None:
            with proc.cond:
                proc.cond.notify_all()

    def emit(self, line: str, stream: str) -> None:
        with self._log_lock:
            if self._log is not None:
                self._log.write(line + "\n")
            self.tail.append(line)
        if self.on_line is not None:
            try:
                self.on_line(line, stream)
            except Exception:  # an observer must not break the job
                pass

    def _worker(self) -> _Proc | None:
        """A ready worker (waits for a fresh one to finish importing); None when cancelled first."""
        for _ in range(3):
            proc = pool().acquire()
            with proc.cond:
                proc.cond.wait_for(lambda p=proc: p.ready or p.dead or self._cancel.is_set(), 300)
                if proc.ready and not proc.dead:
                    return proc
            if self._cancel.is_set():
                pool().release(proc)
                return None
            pool().discard(proc)
        raise RuntimeError("the spawn worker process did not start (run `python -m reflexng.engine.executors."
                           "spawn_worker x` to see why)")

    def run(self) -> Outcome:
        t0 = time.monotonic()
        try:
            proc = self._worker()
        except (OSError, RuntimeError) as exc:
            return Outcome(ok=False, reason=f"cannot start the job: {exc}", seconds=time.monotonic() - t0)
        if proc is None:
            return outcome_from(None, {}, cancelled=True, timed_out=False, timeout=self.timeout, seconds=0.0,
                                log_tail=[])
        self.proc = proc
        timed_out = False
        term_at: float | None = None
        leftovers: list[int] = []
        with open(self.attempt_dir / "log.txt", "a", buffering=1, encoding="utf-8", errors="replace") as log:
            with self._log_lock:
                self._log = log
            with proc.cond:
                proc.run = self
            t0 = time.monotonic()
            sent = proc.send(str(self.attempt_dir))
            with proc.cond:
                exit_at: float | None = None
                while sent:
                    if self.exit_msg is not None and (self.err_done or proc.dead):
                        break
                    if proc.dead:
                        break
                    now = time.monotonic()
                    if self.exit_msg is not None:
                        exit_at = exit_at or now
                        if now - exit_at > 1.0:
                            break
                    if term_at is None and (self._cancel.is_set()
                                            or (self.timeout is not None and now - t0 > self.timeout)):
                        timed_out = not self._cancel.is_set()
                        leftovers = _procs.descendants(proc.pid)
                        proc.signal(signal.SIGTERM, leftovers)
                        term_at = now
                    elif term_at is not None and now - term_at > self.grace:
                        proc.signal(_SIGKILL, leftovers + _procs.descendants(proc.pid))
                        term_at = float("inf")
                    proc.cond.wait(0.1)
                if proc.dead or not sent:
                    # the worker is gone: its pipes close once the rest of its group is gone too
                    proc.cond.release()
                    try:
                        proc.signal(_SIGKILL, leftovers)
                        try:
                            proc.proc.wait(5)
                        except subprocess.TimeoutExpired:
                            pass
                        end = time.monotonic() + 1.0
                        with proc.cond:
                            proc.cond.wait_for(lambda: proc.eof == 2, max(0.0, end - time.monotonic()))
                    finally:
                        proc.cond.acquire()
                proc.run = None
            seconds = time.monotonic() - t0
            with self._log_lock:
                self._log = None
            code = self.exit_msg["exit"] if self.exit_msg is not None else proc.proc.returncode
            if self.exit_msg is not None and not proc.dead and term_at is None:
                proc.jobs += 1
                pool().release(proc)
            else:
                pool().discard(proc)
            outcome = outcome_from(code, _read_result(self.attempt_dir / "result.json"),
                                   cancelled=self._cancel.is_set(), timed_out=timed_out, timeout=self.timeout,
                                   seconds=seconds, log_tail=list(self.tail))
            if (proc.dead and self.exit_msg is None and term_at is None and not self._cancel.is_set()
                    and (code is None or code in (-_SIGKILL, -signal.SIGTERM))):
                # killed from outside (a user, the OOM killer, a dying session): the worker was lost. A
                # recipe that kills its own process looks the same here: it, too, is started once more.
                outcome.worker_lost = True
                outcome.reason = f"the spawn worker (pid {proc.pid}) was lost while running the job: {outcome.reason}"
            msg = self.exit_msg or {}
            outcome.trace = {"wall_s": round(seconds, 4), "cpu_s": msg.get("cpu_s"),
                             "peak_rss_kb": msg.get("peak_rss_kb"), "worker": f"{_HOST} pid {proc.pid}",
                             "executor": "spawn"}
            if not outcome.ok:
                log.write(f"reflexng: job failed: {outcome.reason}\n")
        return outcome


class SpawnExecutor(Executor):
    """Jobs on warm worker processes; ``size`` workers are started ahead (default: the cores)."""

    name = "spawn"

    def __init__(self, size: int | None = None) -> None:
        self.size = max(1, int(size or os.cpu_count() or 1))
        pool().warm(self.size)

    def start(self, attempt_dir: str | os.PathLike, *, on_line: LineCallback | None = None,
              timeout: float | None = None, grace: float = 5.0, priority: int = 0) -> JobHandle:
        return ThreadHandle(_SpawnRun(attempt_dir, on_line, timeout, grace), "reflexng-spawn-job")

    def info(self) -> dict[str, Any]:
        return {"executor": self.name, "workers": self.size, "dashboard": None}
