"""``fork`` executor: children forked from the pre-imported job helper (Linux; fastest).

See :mod:`reflexng.engine.executor` (the engine side) and :mod:`reflexng.engine.zygote` (the
helper). Needs ``AF_UNIX`` ``SOCK_SEQPACKET`` sockets and ``fork()``: Linux only.
"""

from __future__ import annotations

import os

from reflexng.engine.executors.base import Executor, JobHandle, LineCallback, ThreadHandle


def available() -> bool:
    import socket

    return hasattr(os, "fork") and hasattr(socket, "AF_UNIX") and hasattr(socket, "SOCK_SEQPACKET") \
        and hasattr(socket, "send_fds")


class ForkExecutor(Executor):
    name = "fork"

    def start(self, attempt_dir: str | os.PathLike, *, on_line: LineCallback | None = None,
              timeout: float | None = None, grace: float = 5.0, priority: int = 0) -> JobHandle:
        from reflexng.engine.executor import ChildRun

        return ThreadHandle(ChildRun(attempt_dir, on_line, timeout=timeout, grace=grace), "reflexng-fork-job")

    def info(self):
        return {"executor": self.name, "workers": os.cpu_count(), "dashboard": None}
