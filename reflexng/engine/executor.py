"""Run one job attempt in a child process and turn whatever happens into an :class:`Outcome`.

Children are forked from a pre-imported helper (:mod:`reflexng.engine.zygote`: reflexng,
astropy and the built-in recipe modules imported once), so a job costs a fork, not an
interpreter start. Each child gets its own process group: cancel and timeout send SIGTERM to the
group (esorex grandchildren included), then SIGKILL after a grace period. Output is read line by
line from two pipes, written to ``log.txt`` and passed to ``on_line``. If the engine process
dies, the helper notices (its socket closes) and kills every job's group.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reflexng.engine.child import FAILED_STATUS

LOG_TAIL = 50
# the job helper and spawn workers never have the working directory on sys.path (a numpy.py
# lying in the folder reflexng was started from must not be imported): -P, or isolated mode
SAFE_PATH_FLAGS = ("-P",) if sys.version_info >= (3, 11) else ("-I",)


class HelperDied(RuntimeError):
    """The pre-imported helper process ended unexpectedly."""


class _Zygote:
    """Engine side of :mod:`reflexng.engine.zygote` (one per engine process, started lazily)."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = subprocess.Popen([sys.executable, *SAFE_PATH_FLAGS, "-m", "reflexng.engine.zygote",
                                      str(theirs.fileno())],
                                     pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.pending: dict[int, dict[str, Any]] = {}
        self.counter = itertools.count(1)
        self.dead = False
        threading.Thread(target=self._read, name="reflexng-zygote-reader", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            msg = json.loads(data)
            with self.lock:
                slot = self.pending.get(msg.get("id"))
                if slot is None:
                    continue
                if "exit" in msg:
                    slot["code"] = msg["code"]
                    slot["cpu"] = msg.get("cpu")
                    slot["maxrss_kb"] = msg.get("maxrss_kb")
                    slot["exited"] = True
                    self.pending.pop(msg["id"], None)
                    _poke(slot["wake"])
                else:
                    slot["pid"] = msg["pid"]
                slot["event"].set()
        with self.lock:
            self.dead = True
            for slot in self.pending.values():
                slot["event"].set()
                _poke(slot["wake"])
            self.pending.clear()

    def spawn(self, attempt_dir: str, out_w: int, err_w: int, wake_w: int) -> dict[str, Any]:
        """Ask for a child; returns its slot at once (``pid`` arrives later: :meth:`pid_of`).
        ``wake_w`` gets a byte when the child has ended (``slot["code"]``)."""
        rid = next(self.counter)
        slot: dict[str, Any] = {"event": threading.Event(), "pid": None, "code": None, "exited": False,
                                "wake": wake_w}
        with self.lock:
            if self.dead:
                raise HelperDied("the job helper process has ended")
            self.pending[rid] = slot
        with self.send_lock:
            socket.send_fds(self.sock, [json.dumps({"id": rid, "attempt_dir": attempt_dir}).encode()], [out_w, err_w])
        return slot

    @staticmethod
    def pid_of(slot: dict[str, Any], timeout: float = 60.0) -> int | None:
        slot["event"].wait(timeout)
        return slot["pid"]


def _poke(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except OSError:
        pass


_zygote_lock = threading.Lock()
_zygote: _Zygote | None = None


def helper() -> _Zygote:
    """The job helper process of this engine (started, or restarted, on demand)."""
    global _zygote
    with _zygote_lock:
        if _zygote is None or _zygote.dead or _zygote.proc.poll() is not None:
            _zygote = _Zygote()
        return _zygote


@dataclass
class Outcome:
    """How an attempt ended. ``reason`` is in words when ``ok`` is False."""

    ok: bool
    reason: str = ""
    products: list[tuple[str, str]] = field(default_factory=list)
    qc: dict[str, Any] = field(default_factory=dict)
    log_tail: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exitcode: int | None = None
    cancelled: bool = False
    # resource trace of the attempt: wall_s, cpu_s, peak_rss_kb, worker, executor (None = unknown)
    trace: dict[str, Any] = field(default_factory=dict)
    # True when the job did not fail by itself (its worker was lost): the failure policy may retry it
    worker_lost: bool = False


def signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"signal {sig}"


class ChildRun:
    """One attempt in a child process. ``run()`` blocks (call it from a worker thread);
    ``cancel()`` may be called from any thread."""

    def __init__(self, attempt_dir: str | os.PathLike, on_line: Callable[[str, str], None] | None = None,
                 timeout: float | None = None, grace: float = 5.0) -> None:
        self.attempt_dir = Path(attempt_dir)
        self.on_line = on_line
        self.timeout = timeout
        self.grace = grace
        self._slot: dict[str, Any] | None = None
        self._cancel = threading.Event()

    @property
    def pid(self) -> int | None:
        """The child's process id (= its process group id); waits briefly until it is known."""
        return None if self._slot is None else _Zygote.pid_of(self._slot)

    def cancel(self) -> None:
        self._cancel.set()

    def _killpg(self, sig: int) -> None:
        pid = self.pid
        if pid is None:
            return
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        except PermissionError:
            pass

    def run(self) -> Outcome:
        t0 = time.monotonic()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        wake_r, wake_w = os.pipe()
        try:
            zyg = helper()
            self._slot = zyg.spawn(str(self.attempt_dir), out_w, err_w, wake_w)
        except (HelperDied, OSError) as exc:
            for fd in (out_r, err_r, wake_r, wake_w):
                os.close(fd)
            return Outcome(ok=False, reason=f"cannot start the job: {exc}", seconds=time.monotonic() - t0)
        finally:
            os.close(out_w)
            os.close(err_w)
        if self._cancel.is_set():
            self._killpg(signal.SIGTERM)
        tail: collections.deque[str] = collections.deque(maxlen=LOG_TAIL)
        partial = {out_r: b"", err_r: b""}
        names = {out_r: "stdout", err_r: "stderr"}
        sel = selectors.DefaultSelector()
        sel.register(out_r, selectors.EVENT_READ)
        sel.register(err_r, selectors.EVENT_READ)
        sel.register(wake_r, selectors.EVENT_READ)
        term_at: float | None = None
        timed_out = False
        exited_at: float | None = None
        open_pipes = 2
        with open(self.attempt_dir / "log.txt", "a", buffering=1, encoding="utf-8", errors="replace") as log:

            def emit(raw: bytes, fd: int) -> None:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                log.write(line + "\n")
                tail.append(line)
                if self.on_line is not None:
                    try:
                        self.on_line(line, names[fd])
                    except Exception:  # an observer must not break the job
                        pass

            while True:
                for key, _ in sel.select(timeout=0.1):
                    fd = key.fd
                    if fd == wake_r:
                        sel.unregister(fd)
                        exited_at = time.monotonic()
                        continue
                    data = os.read(fd, 65536)
                    if not data:
                        sel.unregister(fd)
                        os.close(fd)
                        open_pipes -= 1
                        if partial[fd]:
                            emit(partial[fd], fd)
                            partial[fd] = b""
                        continue
                    buf = partial[fd] + data
                    *lines, partial[fd] = buf.split(b"\n")
                    if len(partial[fd]) > 65536:  # an endless line: pass it on in pieces
                        lines.append(partial[fd])
                        partial[fd] = b""
                    for ln in lines:
                        emit(ln, fd)
                now = time.monotonic()
                if exited_at is not None and open_pipes == 0:
                    break
                if exited_at is not None and now - exited_at > 1.0:
                    # a grandchild still holds the pipes: end it with the group
                    self._killpg(signal.SIGKILL)
                    for fd in list(partial):
                        try:
                            sel.unregister(fd)
                            os.close(fd)
                        except (KeyError, ValueError, OSError):
                            pass
                    break
                if term_at is None and (self._cancel.is_set() or (self.timeout is not None and now - t0 > self.timeout)):
                    timed_out = not self._cancel.is_set()
                    self._killpg(signal.SIGTERM)
                    term_at = now
                elif term_at is not None and exited_at is None and now - term_at > self.grace:
                    self._killpg(signal.SIGKILL)
                    term_at = float("inf")
            sel.close()
            os.close(wake_r)
            os.close(wake_w)
            self._killpg(signal.SIGKILL)  # stray grandchildren of a finished job
            code = self._slot["code"] if self._slot["exited"] else None
            seconds = time.monotonic() - t0
            outcome = outcome_from(code, _read_result(self.attempt_dir / "result.json"), cancelled=self._cancel.is_set(),
                                   timed_out=timed_out, timeout=self.timeout, seconds=seconds, log_tail=list(tail))
            outcome.trace = {"wall_s": round(seconds, 4), "cpu_s": self._slot.get("cpu"),
                             "peak_rss_kb": self._slot.get("maxrss_kb"), "worker": _HOST, "executor": "fork"}
            if not outcome.ok:
                log.write(f"reflexng: job failed: {outcome.reason}\n")
        return outcome


_HOST = socket.gethostname()


def outcome_from(code: int | None, result: dict[str, Any], *, cancelled: bool, timed_out: bool,
                 timeout: float | None, seconds: float, log_tail: list[str]) -> Outcome:
    """How an attempt ended, in words, from its exit status and ``result.json`` (every executor)."""
    outcome = Outcome(ok=False, log_tail=log_tail, seconds=seconds, exitcode=code)
    if cancelled:
        outcome.cancelled = True
        outcome.reason = "cancelled (stopped by the user)"
    elif timed_out:
        how = "SIGTERM" if code == -signal.SIGTERM else signal_name(-code) if code and code < 0 else "SIGTERM"
        outcome.reason = f"timed out after {timeout:g} s (killed by {how})"
    elif code == 0 and result.get("ok"):
        outcome.ok = True
        outcome.products = [(p, c) for p, c in result.get("products", [])]
        outcome.qc = dict(result.get("qc") or {})
    elif code is None:
        outcome.reason = "the job helper process ended unexpectedly"
        outcome.worker_lost = True  # the executor's side went away, not the recipe
    elif code == 0:
        outcome.reason = "the child process ended without a result"
    elif code < 0:
        outcome.reason = f"killed by {signal_name(-code)}"
        if -code == getattr(signal, "SIGKILL", 9):
            outcome.reason += " (out of memory, or killed by another process)"
    elif code == FAILED_STATUS and result.get("error"):
        outcome.reason = str(result["error"])
    else:
        outcome.reason = f"exited with status {code}" + (f": {result['error']}" if result.get("error") else "")
    return outcome


def _read_result(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
