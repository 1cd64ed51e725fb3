"""A large organise result, while a view shows it, is kept out of the cyclic garbage
collector's passes (``gc.freeze``): a full pass over 300,000 files' records (~1.2 M tracked
objects) costs ~0.6 s CPU, and it falls on whatever the GUI thread does next (a scroll step,
a click). The freeze is scoped to the views' holding of the result:

- only a result of ``FREEZE_FROM`` files or more is frozen: a full pass over fewer costs
  less than a scroll step may (~4 tracked objects per file, ~0.5 µs each), and nothing is
  kept from the collector for a small result;
- ``hold`` freezes at once, young generations included: the organiser pauses the collector
  while it builds a result, so the result is still in generation 0 when it arrives and
  collecting first would be the very pass avoided (0.6 s CPU at 300,000 files); each new
  large result is frozen again (the previous one's records are freed by reference counting
  when no one holds them: they form no cycles);
- when the last holder lets go (a small result, or the view is destroyed) everything is
  unfrozen: what became cyclic garbage meanwhile is collected by the next full pass.

``gc.freeze`` is process-wide; the holders are counted here so that two views showing the
same result (file table, dataset tree) unfreeze only when both let go."""

from __future__ import annotations

import gc

FREEZE_FROM = 20_000  # files

_holders: set[int] = set()
_watched: set[int] = set()


def hold(owner, files: int) -> None:
    """``owner`` (a QObject) now shows a result of ``files`` files."""
    key = id(owner)
    if key not in _watched:
        _watched.add(key)
        owner.destroyed.connect(lambda *_a, k=key: _forget(k))
    if files < FREEZE_FROM:
        release(owner)
        return
    _holders.add(key)
    gc.freeze()


def release(owner) -> None:
    """``owner`` no longer shows a large result."""
    _drop(id(owner))


def frozen() -> bool:
    """Does some view hold a result frozen?"""
    return bool(_holders)


def _forget(key: int) -> None:
    _watched.discard(key)
    _drop(key)


def _drop(key: int) -> None:
    if key in _holders:
        _holders.discard(key)
        if not _holders:
            gc.unfreeze()
