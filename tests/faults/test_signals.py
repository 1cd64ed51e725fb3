"""Ctrl-C (SIGINT to the whole foreground process group, as a terminal sends it) at any moment of
``reflexng run``: exit 130 within a second, one line, no traceback from any process, nothing left
running; a second Ctrl-C kills a recipe that ignores SIGTERM at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from reflexng.recipes.builtin.testing import write_header_fits

from ._faults import function_cascade, recipe_cascade, run_json, write_raw

pytestmark = pytest.mark.skipif(not hasattr(signal, "pthread_sigmask"), reason="POSIX signals only")

# the code exits at most 0.9 s after the first Ctrl-C (cli._common.GRACE); on this shared, loaded
# machine the test process itself may be scheduled up to ~0.5 s late, so it allows 1.5 s
LIMIT = 1.5

STUBBORN = ("def fn(inputs, parameters, output_dir):\n"
            "    import signal, time\n"
            "    signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "    (output_dir / 'started').write_text('x')\n"
            "    time.sleep(60)\n")


class Run:
    """``reflexng run`` in its own process group, stderr lines collected as they come."""

    def __init__(self, *args) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "reflexng", "run", *map(str, args)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        self.lines: list[str] = []
        self.seen = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            with self.seen:
                self.lines.append(line.rstrip("\n"))
                self.seen.notify_all()

    def wait_line(self, text: str, timeout: float = 120) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: any(text in ln for ln in self.lines), timeout), self.lines

    def ctrl_c(self) -> float:
        os.killpg(self.proc.pid, signal.SIGINT)
        return time.monotonic()

    def finish(self, timeout: float = 60) -> tuple[int, float]:
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        done = time.monotonic()
        self.reader.join(10)
        self.proc.stdout.close()
        return self.proc.returncode, done


def _wait_for(pred, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pred()


@pytest.mark.parametrize("moment", ["starting", "organising", "helper starting", "job running"])
def test_ctrl_c_at_any_moment_exits_130_within_a_second_with_one_line(moment, tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data, 3)
    if moment == "organising":  # enough other files that organising lasts beyond the poll below
        (data / "other").mkdir()
        for i in range(4000):
            write_header_fits(data / "other" / f"other_{i}.fits", {"OBJECT": "X", "DPR.TYPE": "UNUSED"})
    w = tmp_path / "w"
    cascade = recipe_cascade(tmp_path / "c.py", "test_sleep", ', "seconds": 30')
    run = Run("--cascade", cascade, "--data", data, "--workdir", w, "--jobs", "1")
    if moment == "starting":
        time.sleep(0.4)  # importing reflexng (Python's own start-up, before any of our code, is earlier)
    elif moment == "organising":
        _wait_for(lambda: (w / "reflexng.sqlite").exists())
    elif moment == "helper starting":
        run.wait_line("running 3 jobs")
    else:
        _wait_for(lambda: any(w.glob("jobs/*/*/attempt-*/tmp")))
        time.sleep(0.3)
    before = len(run.lines)
    t = run.ctrl_c()
    code, done = run.finish()
    after = run.lines[before:]
    assert code == 130, run.lines
    assert done - t < LIMIT, f"exit {done - t:.2f} s after Ctrl-C"
    assert not [ln for ln in run.lines if "Traceback" in ln or "KeyboardInterrupt" in ln], run.lines
    assert len([ln for ln in after if ln.strip()]) == 1 and "interrupted" in after[-1], after
    if moment == "organising":  # it was: no job had started
        assert not any("running 3 jobs" in ln for ln in run.lines), run.lines
    if moment == "job running":  # the work directory is consistent: the next run re-runs the jobs
        summary, _ = run_json(recipe_cascade(tmp_path / "c.py", "test_noop"), data, w, code=0)
        assert [j["status"] for j in summary["jobs"]] == ["executed"] * 3


def test_a_second_ctrl_c_kills_a_recipe_that_ignores_sigterm_at_once(tmp_path, raw_guard):
    data = raw_guard(tmp_path / "data")
    write_raw(data)
    w = tmp_path / "w"
    run = Run("--cascade", function_cascade(tmp_path / "c.py", STUBBORN), "--data", data, "--workdir", w)
    _wait_for(lambda: any(w.glob("jobs/*/*/attempt-*/tmp/started")))
    run.ctrl_c()
    time.sleep(0.2)
    assert run.proc.poll() is None  # still stopping the job (SIGTERM is ignored)
    t = run.ctrl_c()
    code, done = run.finish()
    assert code == 130 and done - t < 1.0, (code, done - t, run.lines)
    assert not [ln for ln in run.lines if "Traceback" in ln], run.lines
    # the stubborn recipe is gone too: checked by the no-process-left fixture
