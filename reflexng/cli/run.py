"""`reflexng run` — organise and reduce: run every job of the complete datasets.

Progress goes to stderr (a progress bar on a terminal), the summary to stdout (``--json``:
``{ok, jobs: [{id, task, dataset, status, attempt, products, seconds, reason}], end_products}``).
Exit 0 when every complete dataset succeeded, 1 if a job failed, 2 for usage or cascade errors.
"""

from __future__ import annotations

import sys
import threading
import time

from reflexng.cli._common import check_folders, fail, parse_key_values


def register(sub) -> None:
    p = sub.add_parser("run", help="organise the data and run the reduction (smart re-runs)",
                       description="Organise the data folders for the target, then run every job of the "
                       "complete datasets in child processes. Unchanged jobs are reused.")
    p.add_argument("--cascade", required=True, help="cascade name or path of a cascade .py file")
    p.add_argument("--data", action="append", required=True, metavar="DIR", help="data folder (repeatable)")
    p.add_argument("--target", default=None, help="target task or meta target (default: the cascade's)")
    p.add_argument("--workdir", default=None, help="work directory (default: under the user data folder)")
    p.add_argument("--param", action="append", metavar="TASK.NAME=VALUE", help="recipe parameter (repeatable)")
    p.add_argument("--workflow-param", action="append", metavar="NAME=VALUE", help="workflow parameter (repeatable)")
    p.add_argument("--parameter-set", default=None, help="named parameter set of the cascade")
    p.add_argument("--ordering", choices=["dfs", "bfs", "dynamic"], default="dynamic",
                   help="dfs: dataset by dataset; bfs: task level by level; dynamic: whatever is ready, "
                   "in parallel (default)")
    p.add_argument("--jobs", type=int, default=None, metavar="N", help="parallel jobs for dynamic (default: cores)")
    p.add_argument("--force", action="append", default=[], metavar="TASK|all",
                   help="run the task's jobs even when unchanged (repeatable; 'all' for every task)")
    p.add_argument("--timeout", type=float, default=None, metavar="S", help="per-job time limit in seconds")
    p.add_argument("--failure-policy", choices=["continue", "stop"], default="continue",
                   help="after a failed job: go on with other datasets (default) or stop")
    p.add_argument("--end-product-pattern", default=None, metavar="PATTERN",
                   help="end product names from header keywords (default {OBJECT}_{PRO.CATG}.fits)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.set_defaults(func=run)


def _recipe_params(items: list[str] | None) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, value in parse_key_values(items, "--param").items():
        if "." not in key:
            raise ValueError(f"--param {key}={value}: expected TASK.NAME=VALUE")
        task, name = key.split(".", 1)
        out.setdefault(task, {})[name] = value
    return out


def run_interruptible(session):
    """Run ``session`` in its background thread; on Ctrl-C stop the running jobs (their child
    processes are terminated and their attempts recorded as cancelled) and wait for the run to
    end. A second Ctrl-C gives up waiting. Returns ``(RunSummary or None, interrupted)``."""
    finished = threading.Event()
    session.subscribe(lambda ev: finished.set() if ev.kind == "run_finished" else None)
    session.start()
    try:
        while not finished.wait(0.5):
            pass
        return session.wait(), False
    except KeyboardInterrupt:
        print("\nreflexng: interrupted; stopping the running jobs (Ctrl-C again to quit at once) ...",
              file=sys.stderr)
    session.stop()
    try:
        while not finished.wait(0.5):
            pass
    except KeyboardInterrupt:
        return None, True
    print(f"reflexng: run stopped; {session.workdir} is consistent: `reflexng run` again re-runs "
          "the interrupted jobs and reuses the finished ones", file=sys.stderr)
    return session.wait(), True


def _explain_nothing_to_run(result, data: list[str]) -> None:
    """Say why there is no job: no files, none readable, or none classified for the target."""
    files = result.files
    where = ", ".join(data)
    if not files:
        why = f"no FITS files found in {where}"
    else:
        bad = [f for f in files if f.status != "ok"]
        unreadable = sum(1 for f in bad if f.status == "unreadable")
        why = (f"{len(files)} file(s) in {where}: {unreadable} unreadable, {len(bad) - unreadable} not "
               f"classified, none usable for target {result.target}")
        for f in bad[:5]:
            why += f"\n  {f.path}: {f.reason or f.status}"
    for note in result.notes:
        why += f"\n  {note}"
    why += "\ncheck --data and --target (`reflexng organise` shows every file and why)"
    print(f"reflexng: nothing to run: {why}", file=sys.stderr)


# how an OptionError of the Session reads on the command line (the option's flag, as typed)
_FLAGS = {
    "max_jobs": lambda e: f"--jobs {e.detail}",
    "job_timeout": lambda e: f"--timeout {e.value}: {e.detail}",
    "end_product_pattern": lambda e: f"--end-product-pattern {e.value}: {e.detail}",
    "force": lambda e: f"--force {e.value}: {e.detail}",
    "recipe_parameters": lambda e: f"--param {e.value}: {e.detail}",
    "ordering": lambda e: f"--ordering {e.value}: {e.detail}",
    "failure_policy": lambda e: f"--failure-policy {e.value}: {e.detail}",
}


def option_message(exc) -> str:
    """A Session option error in the words of the command line."""
    words = _FLAGS.get(getattr(exc, "option", ""))
    return words(exc) if words else str(exc)


class _Progress:
    """Prints progress on stderr: a bar on a terminal, one line per finished job otherwise."""

    def __init__(self, stream=None) -> None:
        self.stream = stream = stream if stream is not None else sys.stderr
        self.tty = stream.isatty()
        self.lock = threading.Lock()
        self.done = 0
        self.total = 0
        self.eta = None

    def __call__(self, ev) -> None:
        with self.lock:
            k = ev.kind
            if k == "run_started":
                self.total = ev.data.get("total", 0)
                self._line(f"running {self.total} jobs in {ev.data.get('workdir')}")
            elif k == "progress":
                self.done, self.total, self.eta = ev.data["done"], ev.data["total"], ev.data.get("eta_seconds")
                if self.tty:
                    self._bar()
            elif k in ("job_finished", "job_reused"):
                word = "executed" if k == "job_finished" else "reused"
                secs = f" ({ev.data.get('seconds', 0):.1f} s)" if k == "job_finished" else ""
                if not self.tty:
                    self._line(f"[{self.done + 1}/{self.total}] {word} {ev.job_id}{secs}")
            elif k == "job_failed":
                self._line(f"FAILED {ev.job_id}: {ev.data.get('reason')}")
                for line in ev.data.get("log_tail", [])[-10:]:
                    self._line(f"    | {line}")
            elif k == "job_skipped" and not self.tty:
                self._line(f"skipped {ev.job_id}: {ev.data.get('reason')}")
            elif k == "run_finished" and self.tty:
                self.stream.write("\n")

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(text + "\n")
        if self.tty:
            self._bar()
        self.stream.flush()

    def _bar(self) -> None:
        width = 30
        frac = self.done / self.total if self.total else 0
        fill = int(width * frac)
        eta = f" ETA {self.eta:.0f} s" if self.eta is not None else ""
        self.stream.write(f"\r\033[K[{'#' * fill}{'.' * (width - fill)}] {self.done}/{self.total}{eta}")
        self.stream.flush()


def run(args) -> int:
    import json

    from reflexng.cascade import CascadeError, load

    try:
        recipe_params = _recipe_params(args.param)
        workflow = parse_key_values(args.workflow_param, "--workflow-param")
    except ValueError as exc:
        return fail(str(exc))
    problem = check_folders(args.data, args.workdir)
    if problem:
        return fail(problem)
    try:
        cascade = load(args.cascade)
    except CascadeError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    from reflexng.engine import OptionError, Session
    from reflexng.engine.export import DEFAULT_PATTERN
    from reflexng.provenance.store import WorkdirLockedError

    try:  # the Session checks every option (the same checks the GUI gets)
        session = Session(cascade, args.data, args.target, workdir=args.workdir, parameter_set=args.parameter_set,
                          workflow_parameters=workflow, recipe_parameters=recipe_params, ordering=args.ordering,
                          max_jobs=args.jobs, failure_policy=args.failure_policy, force=args.force,
                          job_timeout=args.timeout,
                          end_product_pattern=DEFAULT_PATTERN if args.end_product_pattern is None
                          else args.end_product_pattern)
    except OptionError as exc:
        return fail(option_message(exc))
    except (WorkdirLockedError, ValueError) as exc:
        return fail(str(exc))
    t0 = time.monotonic()
    try:
        session.subscribe(_Progress())
        try:
            result = session.organise()
        except CascadeError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        except ValueError as exc:  # unknown target / workflow parameter / parameter set
            return fail(f"{cascade.path}: {exc}")
        incomplete = [d for d in result.datasets if not d.complete]
        for d in incomplete:
            print(f"reflexng: dataset {d.name} is incomplete: {'; '.join(d.missing)}", file=sys.stderr)
        if not result.jobs:
            _explain_nothing_to_run(result, args.data)
        summary, interrupted = run_interruptible(session)
    finally:
        session.close()
    if summary is None:
        if interrupted:
            return 130
        return fail(f"the run in {session.workdir} ended without a summary (see the messages above)", 1)
    if args.json:
        json.dump(summary.to_json(), sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    else:
        counts: dict[str, int] = {}
        for j in summary.jobs:
            counts[j["status"]] = counts.get(j["status"], 0) + 1
        print(f"{len(summary.jobs)} jobs in {time.monotonic() - t0:.1f} s"
              + (": " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) if counts else ""))
        for j in summary.jobs:
            if j["status"] == "failed":
                print(f"  failed: {j['id']} ({j['task']}): {j['reason']}")
        if summary.end_products:
            print("end products:")
            for p in summary.end_products:
                print(f"  {p}")
    if interrupted:
        return 130
    failed = any(j["status"] == "failed" for j in summary.jobs)
    return 1 if failed or summary.stopped else 0
