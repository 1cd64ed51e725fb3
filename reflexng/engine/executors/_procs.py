"""Process-tree helpers shared by the executors: child subreaper, descendants, kill a tree.

Every descendant of a finished, failed or cancelled job is killed, including a daemon that left
the job's process group with ``setsid()``. On Linux the job helper (fork) or worker (spawn) is a
*child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``): orphaned grandchildren are re-parented to
it instead of to init, so they stay findable as its descendants. Descendants are found from
``/proc`` on Linux, with ``psutil`` where it is installed (macOS, Windows), else with ``ps``
(macOS). Nothing here imports a Linux-only module at import time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
PR_SET_PDEATHSIG = 1


def _prctl(option: int, arg: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, arg, 0, 0, 0) == 0
    except Exception:
        return False


def become_subreaper() -> bool:
    """Make this process a child subreaper (Linux); False where the system has none."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def die_with_parent(sig: int = 9) -> bool:
    """Ask for ``sig`` when the parent process ends (Linux ``PR_SET_PDEATHSIG``)."""
    return _prctl(PR_SET_PDEATHSIG, sig)


def _children_map() -> dict[int, list[int]]:
    """parent pid -> child pids of every process we can see."""
    kids: dict[int, list[int]] = {}
    if os.path.isdir("/proc/self/task"):
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            fields = stat.rsplit(b")", 1)[-1].split()
            if len(fields) > 1 and fields[0] != b"Z":
                kids.setdefault(int(fields[1]), []).append(int(name))
        return kids
    try:
        import psutil  # optional: macOS, Windows

        for p in psutil.process_iter(["pid", "ppid"]):
            kids.setdefault(p.info["ppid"], []).append(p.info["pid"])
        return kids
    except Exception:
        pass
    if os.name == "posix":
        try:
            out = subprocess.run(["ps", "-axo", "pid=,ppid="], capture_output=True, text=True, timeout=5).stdout
        except (OSError, subprocess.SubprocessError):
            return kids
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                kids.setdefault(int(parts[1]), []).append(int(parts[0]))
    return kids


def _proc_children(pid: int) -> list[int] | None:
    """Direct children from ``/proc/PID/task/*/children`` (Linux); None where that file is missing."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    out: list[int] = []
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                out += [int(x) for x in fh.read().split()]
        except FileNotFoundError:
            return None
        except OSError:
            continue
    return out


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid``."""
    direct = _proc_children(pid)
    return direct if direct is not None else list(_children_map().get(pid, ()))


def descendants(pid: int) -> list[int]:
    """Every living descendant of ``pid`` (children first), not ``pid`` itself."""
    direct = _proc_children(pid)
    if direct is not None:  # Linux: cheap, no scan of every process
        out, todo = [], list(direct)
        while todo:
            c = todo.pop(0)
            if c in out:
                continue
            out.append(c)
            todo += _proc_children(c) or []
        return out
    kids = _children_map()
    out: list[int] = []
    todo = [pid]
    seen = {pid}
    while todo:
        for c in kids.get(todo.pop(0), ()):
            if c not in seen:
                seen.add(c)
                out.append(c)
                todo.append(c)
    return out


def kill_pids(pids, sig: int | None = None) -> None:
    """Send ``sig`` (default: the strongest kill there is) to each pid; gone ones are ignored."""
    if sig is None:
        sig = getattr(signal, "SIGKILL", signal.SIGTERM)
    for p in pids:
        try:
            os.kill(p, sig)
        except (OSError, SystemError):
            pass


def kill_group(pgid: int, sig: int) -> bool:
    """Signal a process group (POSIX); False when there is no such group (or no groups at all)."""
    if not hasattr(os, "killpg"):
        return False
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def kill_descendants(pid: int, sig: int | None = None) -> list[int]:
    """Kill every descendant of ``pid`` (a job's leftovers); returns the pids signalled."""
    found = descendants(pid)
    kill_pids(found, sig)
    return found


def reap_children_nowait() -> None:
    """Collect exited children (subreaper orphans included) so they do not stay zombies (POSIX)."""
    if not hasattr(os, "waitpid") or os.name != "posix":
        return
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
