"""Ctrl-C during ``reflexng run``: no traceback, children stopped, store consistent, next run re-runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

from ._cli import check, rx, write_cascade


def _children(pid: int) -> set[int]:
    """Every descendant process id of ``pid`` (from /proc)."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            kids.setdefault(ppid, []).append(int(d))
    out, todo = set(), [pid]
    while todo:
        for c in kids.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_ctrl_c_stops_the_run_cleanly(tiny, tmp_path):
    _, data = tiny
    cascade = write_cascade(tmp_path / "slow.py", recipe="test_sleep", params=', "seconds": 3')
    w = tmp_path / "w"
    proc = subprocess.Popen([sys.executable, "-m", "reflexng", "run", "--cascade", str(cascade), "--data", str(data),
                             "--workdir", str(w)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        jobs = w / "jobs"
        while not any(jobs.glob("*/*/attempt-*/tmp")) and time.monotonic() < deadline:  # the job has started
            time.sleep(0.1)
        time.sleep(0.5)
        kids = _children(proc.pid)
        assert kids, "the recipe child process was not started"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err and str(w) in err
    time.sleep(0.5)
    assert not [k for k in kids if _alive(k)], "child processes left running"
    with sqlite3.connect(w / "reflexng.sqlite") as db:
        jobs_ = db.execute("select status from jobs").fetchall()
        runs = db.execute("select status from runs").fetchall()
    assert jobs_ == [("cancelled",)] and runs == [("stopped",)]
    # the next run re-runs the interrupted job (it is not reused)
    res = rx("run", "--cascade", cascade, "--data", data, "--workdir", w, "--json")
    check(res, 0)
    import json

    summary = json.loads(res.stdout)
    assert [j["status"] for j in summary["jobs"]] == ["executed"] and summary["jobs"][0]["attempt"] == 2
