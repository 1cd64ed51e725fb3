"""No descendant of a job outlives it; job processes never import from the working directory."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from exec_util import pid_alive, wait_dead


def test_setsid_daemon_of_a_finished_job_is_killed(executor, attempt):
    adir = attempt("exec_daemon")
    out = executor.start(adir).result(60)
    assert out.ok, out.reason
    pid = int((adir / "daemon.pid").read_text())
    assert wait_dead(pid), f"the job's setsid() daemon {pid} outlived the job ({executor.name})"


def test_setsid_daemon_of_a_cancelled_job_is_killed(executor, attempt):
    adir = attempt("exec_daemon", hang=True)
    handle = executor.start(adir, grace=1.0)
    end = time.monotonic() + 60
    while not (adir / "daemon.pid").exists() and time.monotonic() < end:
        time.sleep(0.05)
    pid = int((adir / "daemon.pid").read_text())
    assert pid_alive(pid)
    handle.cancel()
    out = handle.result(60)
    assert not out.ok and out.cancelled and "cancelled" in out.reason
    assert wait_dead(pid), f"the cancelled job's setsid() daemon {pid} survived ({executor.name})"


def test_setsid_daemon_of_a_timed_out_job_is_killed(executor, attempt):
    adir = attempt("exec_daemon", hang=True)
    out = executor.start(adir, timeout=3.0, grace=0.5).result(60)
    assert not out.ok and out.reason.startswith("timed out after 3 s")
    pid = int((adir / "daemon.pid").read_text())
    assert wait_dead(pid), f"the timed-out job's setsid() daemon {pid} survived ({executor.name})"


PLANTED = textwrap.dedent('''
    import os
    open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "PLANTED_NUMPY_RAN"), "w").write("yes")
    raise ImportError("the planted numpy.py was imported")
''')


@pytest.mark.parametrize("name", ["fork", "spawn"])
def test_planted_numpy_in_the_working_directory_never_runs(name, attempt, tmp_path):
    """The job helper / workers (which pre-import numpy) and the job run with a safe sys.path."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    (cwd / "numpy.py").write_text(PLANTED)
    adir = attempt("exec_numpy")
    script = textwrap.dedent(f'''
        import sys
        from reflexng.engine.executors import make_executor
        out = make_executor({name!r}).start({str(adir)!r}).result(120)
        print("OK" if out.ok else "FAILED " + out.reason)
    ''')
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}  # the engine itself is not protected
    proc = subprocess.run([sys.executable, "-P", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)
    assert proc.stdout.strip() == "OK", proc.stdout + proc.stderr
    assert not (cwd / "PLANTED_NUMPY_RAN").exists(), "a numpy.py in the working directory was imported"
    used = (adir / "tmp" / "numpy.txt").read_text()
    assert Path(used).parent.name == "numpy" and str(cwd) not in used


BLOCKER = textwrap.dedent('''
    # Make fcntl and AF_UNIX sockets unavailable, as on Windows (in the engine and in every worker)
    import sys, socket
    sys.modules["fcntl"] = None
    for name in ("AF_UNIX", "SOCK_SEQPACKET", "send_fds", "recv_fds", "socketpair"):
        if hasattr(socket, name):
            delattr(socket, name)
''')


def test_spawn_runs_without_fcntl_and_af_unix(tmp_path, attempt):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    ok = attempt("test_sleep", seconds=0.2)
    crash = attempt("test_segfault")
    script = textwrap.dedent(f'''
        import socket, sys
        assert not hasattr(socket, "AF_UNIX") and sys.modules["fcntl"] is None
        from reflexng.engine.executors import default_executor, make_executor
        from reflexng.engine.executors import spawn  # noqa: F401
        lines = []
        ex = make_executor("spawn", max_jobs=1)
        a = ex.start({str(ok)!r}, on_line=lambda line, stream: lines.append(line)).result(120)
        b = ex.start({str(crash)!r}).result(120)
        print(a.ok, len(lines), b.reason)
    ''')
    env = {**os.environ, "PYTHONPATH": str(site)}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True 10 killed by SIGSEGV", proc.stdout + proc.stderr
    # the worker ran with the blocker too: a fork-based helper could not have started there
    assert "fcntl" not in proc.stderr and "AF_UNIX" not in proc.stderr


def test_fork_is_refused_without_af_unix(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    script = ("from reflexng.engine.executors import default_executor, make_executor, ExecutorError\n"
              "print(default_executor())\n"
              "try:\n    make_executor('fork')\nexcept ExecutorError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": str(site)},
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines() == [
        "spawn", "the fork executor needs Linux (fork and AF_UNIX SOCK_SEQPACKET); use --executor spawn"], proc.stderr
