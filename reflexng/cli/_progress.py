"""Progress on stderr for the terminal verbs (run, organise, demo-data), with `rich`.

On a terminal: a progress bar with done/total and the time remaining above which each job's
start and end are printed (the job's dataset label, and why it runs: "re-runs because sigma
3 → 4"). Not on a terminal, or with ``--json``: plain lines only, one per event, no control
characters (logs and CI stay readable). :class:`RunProgress` subscribes to a Session's events;
:func:`stage` shows a bar (or one line) for a longer step such as scanning or writing data.
"""

from __future__ import annotations

import re
import sys
import threading
from contextlib import contextmanager
from typing import Any

_PARAM = re.compile(r"parameter (\S+) (\S+) -> (\S+)")


def interactive(stream=None, json_mode: bool = False) -> bool:
    stream = stream if stream is not None else sys.stderr
    try:
        return (not json_mode) and stream.isatty()
    except (AttributeError, ValueError):
        return False


def why_words(why: str) -> str:
    """The engine's reason in words for a person: ``parameter sigma 3 -> 4`` → ``sigma 3 → 4``."""
    why = _PARAM.sub(lambda m: f"{m.group(1)} {m.group(2)} → {m.group(3)}", why or "")
    parts = [p.strip() for p in why.replace(" -> ", " → ").split(";") if p.strip()]
    changed = [p[6:-8] for p in parts if p.startswith("input ") and p.endswith(" changed")]
    if len(changed) > 1:
        rest = [p for p in parts if not (p.startswith("input ") and p.endswith(" changed"))]
        names = ", ".join(changed[:2]) + (f" and {len(changed) - 2} more" if len(changed) > 2 else "")
        parts = rest + [f"inputs {names} changed"]
    return "; ".join(parts)


class RunProgress:
    """Session event subscriber: start/finish lines per job and a bar with ETA on a terminal."""

    def __init__(self, labels: dict[str, str] | None = None, stream=None, json_mode: bool = False,
                 verbose: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = interactive(self.stream, json_mode)
        self.labels = dict(labels or {})
        self.verbose = verbose
        self.lock = threading.Lock()
        self.done = 0
        self.total = 0
        self._progress = None
        self._task = None
        self.counts: dict[str, int] = {}
        self.reran: list[str] = []
        self.quiet = False  # after Ctrl-C: the interrupt line says it all
        self.error: str | None = None  # why a run ended without a summary (said once, by the verb)

    # output -------------------------------------------------------------
    def line(self, text: str, style: str | None = None) -> None:
        if self._progress is not None:
            self._progress.console.print(text, style=style, markup=False, highlight=False)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _start_bar(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        console = Console(file=self.stream, stderr=self.stream is sys.stderr)
        self._progress = Progress(TextColumn("[bold]reducing"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=True)
        self._progress.start()
        self._task = self._progress.add_task("run", total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    # events -------------------------------------------------------------
    def __call__(self, ev: Any) -> None:
        with self.lock:
            if self.quiet:
                return
            k = ev.kind
            d = ev.data
            label = self.labels.get(getattr(ev, "job_id", None) or "", "")
            where = f" [{label}]" if label else ""
            if k == "run_started":
                self.total = d.get("total", 0)
                self.line(f"running {self.total} jobs in {d.get('workdir')} ({d.get('ordering', '')} order)")
                if self.tty and self.total:
                    self._start_bar(self.total)
            elif k == "job_started":
                why = why_words(d.get("why", ""))
                lead = "re-runs because" if why and why not in ("never ran",) and not why.startswith("last attempt") \
                    else "runs:"
                self.line(f"▶ {ev.job_id}{where} {lead} {why or 'new job'}")
                if lead == "re-runs because":
                    self.reran.append(f"{ev.job_id}: {why}")
            elif k in ("job_finished", "job_reused"):
                self.done += 1
                word = "done" if k == "job_finished" else "reused"
                self.counts[word] = self.counts.get(word, 0) + 1
                secs = f" in {d.get('seconds', 0):.1f} s" if k == "job_finished" else ""
                if k == "job_finished" or self.verbose or not self.tty:
                    self.line(f"[{self.done}/{self.total}] {word} {ev.job_id}{where}{secs}")
                self._advance()
            elif k == "job_failed":
                self.done += 1
                self.counts["failed"] = self.counts.get("failed", 0) + 1
                self.line(f"FAILED {ev.job_id}{where}: {d.get('reason')}", style="bold red")
                for text in d.get("log_tail", [])[-10:]:
                    self.line(f"    | {text}")
                self._advance()
            elif k == "job_skipped":
                self.done += 1
                self.counts["skipped"] = self.counts.get("skipped", 0) + 1
                if self.verbose or not self.tty:
                    self.line(f"skipped {ev.job_id}{where}: {d.get('reason')}")
                self._advance()
            elif k == "end_products":
                new, upd, same = len(d.get("new", [])), len(d.get("updated", [])), len(d.get("unchanged", []))
                if new or upd:
                    self.line(f"end products of {d.get('dataset')}: {new} new, {upd} new version(s)"
                              + (f", {same} unchanged" if same else "") + f" in {d.get('folder')}")
            elif k == "run_finished":
                self.close()
                self.error = (d.get("summary") or {}).get("error")

    def _advance(self) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=min(self.done, self.total))


@contextmanager
def stage(title: str, total: int | None = None, json_mode: bool = False, stream=None):
    """A bar with the time remaining (terminal) or a start line (otherwise) for one longer step;
    yields ``update(done, total)`` to report how far it is (e.g. the organiser's ``progress``)."""
    stream = stream if stream is not None else sys.stderr
    if not interactive(stream, json_mode):
        if not json_mode:
            stream.write(f"{title} ...\n")
            stream.flush()
        yield lambda done=None, total=None: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(SpinnerColumn(), TextColumn(title), BarColumn(), MofNCompleteColumn(), TextColumn("ETA"),
                        TimeRemainingColumn(), console=Console(file=stream), transient=True)
    with progress:
        task = progress.add_task(title, total=total)

        def update(done: int | None = None, total: int | None = None) -> None:
            progress.update(task, completed=done, total=total)

        yield update
