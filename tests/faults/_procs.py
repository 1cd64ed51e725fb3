"""Fails a test that leaves a process behind (Linux: read from /proc; elsewhere the check is skipped).

Every process a test starts carries ``REFLEXNG_TEST_PROCESS_TAG=<token>`` in its environment, so
a daemon that left its parent's process tree is still found. Allowed after a test: the long-lived
helpers of the test process itself, kept for the next test by design — the engine's job helper
(``reflexng.engine.zygote``), the spawn executor's warm workers, the shared dask LocalCluster's workers and multiprocessing's fork server and resource tracker (the header
scanner's pool) — when they are direct children of the test process. Anything else still alive a
few seconds after the test is killed and the test fails.
"""

from __future__ import annotations

import os
import signal
import time
import uuid

TAG = "REFLEXNG_TEST_PROCESS_TAG"
HELPERS = (b"reflexng.engine.zygote", b"multiprocessing.forkserver", b"multiprocessing.resource_tracker",
           # the spawn executor's warm worker pool (shared by every spawn executor of the process) and
           # the dask LocalCluster's worker processes (one cluster for the whole test run)
           b"reflexng.engine.executors.spawn_worker", b"multiprocessing.spawn")


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1])
    except (OSError, IndexError, ValueError):
        return None


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _tagged(pid: int, token: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return token in fh.read().split(b"\0")
    except OSError:
        return False


def live_processes(token: str) -> list[tuple[int, str]]:
    """(pid, command line) of live descendants of this process and of processes tagged ``token``."""
    me = os.getpid()
    parent: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st is not None and st[0] != "Z":
                parent[int(d)] = st[1]
    kids: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        kids.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    todo = [me]
    while todo:
        for c in kids.get(todo.pop(), []):
            if c not in found:
                found.add(c)
                todo.append(c)
    want = f"{TAG}={token}".encode()
    found |= {pid for pid in parent if pid != me and _tagged(pid, want)}
    # a helper is a direct child of the test process, or a helper's own helper (a dask worker's job helper)
    helper: set[int] = set()
    grew = True
    while grew:
        more = {pid for pid in found - helper if (parent.get(pid) == me or parent.get(pid) in helper)
                and any(h in _cmdline(pid) for h in HELPERS)}
        grew = bool(more)
        helper |= more
    return sorted((pid, _cmdline(pid).replace(b"\0", b" ").decode(errors="replace").strip())
                  for pid in found - helper)


def new_token() -> str:
    return uuid.uuid4().hex


def check_none_left(token: str, wait: float = 5.0) -> list[tuple[int, str]]:
    """Wait up to ``wait`` s for the test's processes to end; kill and return those that did not."""
    deadline = time.monotonic() + wait
    left = live_processes(token)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = live_processes(token)
    for pid, _cmd in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left
