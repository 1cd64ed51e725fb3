"""What a Dask worker runs for one job attempt (importable on the worker without the client).

The attempt folder is on a filesystem the worker shares with the client (same path). The task
runs the recipe in a child process with the worker's local executor (``spawn`` unless the
client asks for ``fork``), writing ``log.txt`` (and ``.log-streams``: one ``o``/``e`` per log line, so the
client can tell stdout from stderr while it follows the log), and returns a small record: exit
status in words, product paths, QC, times, CPU time, peak memory, the worker's address. FITS
data never travel through Dask. The client asks for a cancel by creating ``cancel`` in the
attempt folder. ``worker.json`` is created exclusively at the start: if Dask runs the task a
second time because its first worker was lost, the second run reports that loss instead of
silently running the job again behind the engine's back.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

from reflexng.engine.executors.local import default_executor, make_local_executor

_local: dict[str, object] = {}


def _executor(name: str | None):
    """The worker's own local executor (one per worker process; ``None``: the platform's default)."""
    name = name or default_executor()
    if name not in _local:
        _local[name] = make_local_executor(name, max_jobs=1)  # a Dask worker thread runs one job at a time
    return _local[name]


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except Exception:
        return f"{socket.gethostname()} pid {os.getpid()}"


def run_attempt(attempt_dir: str, timeout: float | None, grace: float, local: str | None = None) -> dict[str, Any]:
    adir = Path(attempt_dir)
    address = _worker_address()
    try:
        fd = os.open(adir / "worker.json", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        try:
            prev = json.loads((adir / "worker.json").read_text()).get("worker", "?")
        except (OSError, ValueError):
            prev = "?"
        return {"ok": False, "worker_lost": True, "worker": address,
                "reason": f"the Dask worker {prev} was lost while running the job"}
    with os.fdopen(fd, "w") as fh:
        json.dump({"worker": address, "pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}, fh)
    streams = open(adir / ".log-streams", "ab", buffering=0)  # unbuffered: the client follows the log live

    def on_line(line: str, stream: str) -> None:
        streams.write(b"e" if stream == "stderr" else b"o")

    try:
        handle = _executor(local).start(adir, on_line=on_line, timeout=timeout, grace=grace)
        cancel = adir / "cancel"
        while not handle.done():
            if os.path.exists(cancel):
                handle.cancel()
            try:
                handle.result(0.2)  # returns when the job ends; a cancel is seen within 0.2 s
            except TimeoutError:
                pass
        o = handle.result()
    finally:
        streams.close()
    trace = dict(o.trace)
    trace.update(worker=address, executor="dask")
    return {"ok": o.ok, "reason": o.reason, "products": o.products, "qc": o.qc, "log_tail": o.log_tail,
            "seconds": o.seconds, "exitcode": o.exitcode, "cancelled": o.cancelled, "trace": trace}


def noop(key: str) -> dict[str, Any]:
    """A task that does nothing (the scale benchmark: scheduling overhead alone)."""
    return {"ok": True, "key": key}
