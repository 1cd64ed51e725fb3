"""Helpers shared by CLI verbs."""

from __future__ import annotations

import sys


def not_built(verb: str, issue: str):
    """Return a handler for a verb whose implementation has not landed yet."""

    def handler(args) -> int:
        print(f"reflexng {verb}: not built yet ({issue}).", file=sys.stderr)
        return 2

    return handler


def fail(message: str, code: int = 2) -> int:
    """Print ``reflexng: <message>`` on stderr and return ``code``."""
    print(f"reflexng: {message}", file=sys.stderr)
    return code


def check_folders(data: list | None = None, workdir=None) -> str | None:
    """A message for the first bad ``--data``/``--workdir`` path, or None when they are usable."""
    import os

    for d in data or []:
        if not os.path.exists(d):
            return f"--data {d}: not a folder (nothing at this path); check the path"
        if not os.path.isdir(d):
            return f"--data {d}: is a file, not a folder; give the folder that holds the data files"
    if workdir is not None and os.path.exists(workdir) and not os.path.isdir(workdir):
        return f"--workdir {workdir}: is a file, not a folder; choose a folder (it is created if missing)"
    return None


def parse_key_values(items: list[str] | None, what: str = "--param") -> dict[str, str]:
    """Turn ``["a=1", "b=x"]`` into ``{"a": "1", "b": "x"}``; raise ValueError with a clear message."""
    out: dict[str, str] = {}
    for item in items or []:
        if "=" not in item:
            raise ValueError(f"{what} {item!r}: expected NAME=VALUE")
        key, value = item.split("=", 1)
        out[key.strip()] = value.strip()
    return out


_said = False
_interrupted = False
GRACE = 0.9  # seconds from the first Ctrl-C to the exit, whatever is still running


def say_interrupted(text: str) -> None:
    """Print the one Ctrl-C line on stderr (once)."""
    global _said
    if not _said:
        _said = True
        tty = getattr(sys.stderr, "isatty", lambda: False)()
        print(("\n" if tty else "") + text.lstrip("\n"), file=sys.stderr, flush=True)


def leave_if_interrupted(code: int) -> None:
    """After a Ctrl-C, end the process now with ``code`` (output flushed), skipping the
    interpreter's shutdown, which can take seconds on a loaded machine."""
    if _interrupted:
        import os

        _flush_streams()
        os._exit(code)


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def leave_now(code: int) -> None:
    """End the process now with ``code``: output flushed and the exit handlers run (the
    scan's cache writer waited for, say), the interpreter's shutdown skipped: freeing a large
    organise result object by object (~0.1 s for 34k files) gains a command nothing."""
    import atexit
    import os

    run_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_handlers is None:  # not CPython: the normal exit
        return
    _flush_streams()
    run_handlers()
    _flush_streams()
    os._exit(code)


def install_interrupts() -> bool:
    """Ctrl-C for a CLI verb: exit 130 within a second with one line.

    The first Ctrl-C raises KeyboardInterrupt in the main thread at once (even inside a blocking
    call), so the verb stops its jobs cleanly; whatever is still running after ``GRACE`` seconds,
    or at a second Ctrl-C, ends at once (the job helper then kills every job's process group; the
    next open of the work directory records those attempts as interrupted). Child processes never
    see the terminal's SIGINT (it is blocked before any is started, and the mask is inherited),
    so none prints a traceback of its own. Returns False where this is not available (Windows,
    not the main thread): Python's default Ctrl-C handling stays."""
    import _thread
    import os
    import signal
    import threading

    if (not hasattr(signal, "pthread_sigmask") or not hasattr(signal, "sigtimedwait")
            or threading.current_thread() is not threading.main_thread()):
        return False
    main = threading.main_thread().ident
    signal.signal(signal.SIGUSR2, lambda *_a: None)  # only wakes the main thread from a blocking call
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})

    def watch() -> None:
        global _interrupted
        signal.sigwait({signal.SIGINT})
        _interrupted = True
        _thread.interrupt_main()
        signal.pthread_kill(main, signal.SIGUSR2)
        again = signal.sigtimedwait({signal.SIGINT}, GRACE)
        say_interrupted("\nreflexng: interrupted")
        if again is not None:
            os.write(2, b"reflexng: killed at once (second Ctrl-C)\n")
        sys.stderr.flush()
        os._exit(130)

    threading.Thread(target=watch, name="reflexng-ctrl-c", daemon=True).start()
    return True


def _escape_undecodable(exc: UnicodeError):
    """Codec error handler: bytes of a file name that are not UTF-8 as ``\\xNN``; other as ``\\uNNNN``."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = []
    for ch in exc.object[exc.start:exc.end]:
        o = ord(ch)
        out.append(f"\\x{o - 0xDC00:02x}" if 0xDC80 <= o <= 0xDCFF else f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
    return "".join(out), exc.end


def escaped_output() -> None:
    """stdout and stderr show a file name that is not valid UTF-8 with escapes (never fail on it)."""
    import codecs

    codecs.register_error("reflexng-escape", _escape_undecodable)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="reflexng-escape")
        except (AttributeError, ValueError):  # not a text stream that can be reconfigured (tests, pipes)
            pass
