"""A large walk dealt into shares and listed by forked children (reflexng.fits.walk): the same
files as the one-process walk, each once, in the same order with or without children."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from .test_scan import write
from .test_scan_transport import tricky_tree

# run in a child interpreter: pytest's process may run threads, which rule forking out
SCRIPT = r"""
import json, sys, threading
from reflexng.fits import walk as w

def run(split_after, thread=False):
    w.SPLIT_AFTER = split_after
    before = w.SPLITS
    if thread:  # another thread running: no child may be forked
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
    try:
        folders = []
        walked = w.walk_parts(sys.argv[1:], folders)
        digest = walked.digest()  # from the listings as the children sent them
        entries = walked.entries()
    finally:
        if thread:
            stop.set()
            t.join()
    return {"entries": entries, "folders": folders, "children": w.SPLITS - before,
            "digest": digest, "of_entries": w.entries_digest(entries), "after": walked.digest()}

print(json.dumps({"alone": run(10**9), "shared": run(1), "again": run(1),
                  "threads": run(1, thread=True)}))
"""


def shared_tree(root: Path) -> Path:
    """The tricky tree with twenty night folders and symbolic links across them (a folder
    two shares reach, a loop through a folder found after the deal)."""
    data = tricky_tree(root)
    for n in range(20):
        for k in range(3):
            write(data / f"n{n:02d}" / f"f{k}.fits", n * 3 + k)
    write(data / "n00" / "sub" / "deep.fits", 99)
    (data / "n05" / "to12").symlink_to(data / "n12")
    (data / "n07" / "to-sub").symlink_to(data / "n00" / "sub")
    (data / "n09" / "to-sub").symlink_to(data / "n00" / "sub")
    (data / "n00" / "sub" / "back").symlink_to(data / "n07")
    return data


def walks(*roots: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", SCRIPT, *map(str, roots)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def real(entries: list) -> Counter:
    """Each entry by the real folder it was listed in (a folder reached through a symbolic
    link may be listed under another path), with its stat and problem."""
    return Counter((os.path.realpath(os.path.dirname(p)), os.path.basename(p), size, mtime,
                    ino, problem) for p, size, mtime, ino, problem in entries)


def test_shared_walk_finds_what_the_walk_alone_finds_once_each(tmp_path):
    data = shared_tree(tmp_path)
    got = walks(data, data / "a.fits")
    alone, shared = got["alone"], got["shared"]
    expected_children = min(4, os.cpu_count() or 1) - 1
    assert alone["children"] == 0 and shared["children"] == expected_children
    assert real(shared["entries"]) == real(alone["entries"])
    assert max(real(shared["entries"]).values()) == 1  # no file twice
    assert len(alone["entries"]) == 9 + 20 * 3 + 1
    assert ({os.path.realpath(p) for p, _ in shared["folders"]}
            == {os.path.realpath(p) for p, _ in alone["folders"]})


def test_shared_walk_order_depends_only_on_the_tree(tmp_path):
    """The file-set digest of a stored result depends on the order: children or none (a GUI
    organises with threads running), the same entries in the same order."""
    data = shared_tree(tmp_path)
    got = walks(data)
    assert got["threads"]["children"] == 0
    assert got["shared"]["entries"] == got["again"]["entries"] == got["threads"]["entries"]
    assert got["shared"]["folders"] == got["again"]["folders"] == got["threads"]["folders"]


def test_a_walks_digest_is_its_entries_digest_however_it_was_listed(tmp_path):
    """The file-set digest made from the children's listings (an unchanged re-organise makes
    no entries) is the digest of the entries: alone, shared, with threads, of two roots. (A
    walk alone is dealt later: another order, another digest.)"""
    data = shared_tree(tmp_path)
    for roots in ((data,), (data, data / "a.fits")):
        got = walks(*roots)
        assert got["shared"]["children"] > 0 or (os.cpu_count() or 1) == 1
        for run in got.values():
            assert run["digest"] == run["of_entries"] == run["after"], (roots, run)
        assert got["shared"]["digest"] == got["again"]["digest"] == got["threads"]["digest"]
    assert got["shared"]["digest"] != walks(data)["shared"]["digest"]  # another file set, another digest


BIG = r"""
import json, os, sys
from reflexng.fits import walk as w

parent = os.getpid()
real_entries = w._entries

def run(big, fail=False):
    w.BIG_FOLDER = big
    w._entries = real_entries
    if fail:  # the child stat'ing the second half fails: the parent lists it
        def failing(*a):
            if os.getpid() != parent:
                raise OSError("a child that dies")
            return real_entries(*a)
        w._entries = failing
    folders = []
    walked = w.walk_parts(sys.argv[1:], folders)
    digest = walked.digest()
    return {"entries": walked.entries(), "folders": folders, "digest": digest}

print(json.dumps({"whole": run(10**9), "split": run(4), "failed": run(4, fail=True)}))
"""


def test_a_big_folder_stat_in_two_halves_gives_the_same_walk(tmp_path):
    """A folder of BIG_FOLDER entries or more has its second half stat'ed by a forked child:
    the same entries, folders and digest in the same order (here every folder of the tree,
    odd entries and links included, is big), also when that child fails."""
    data = shared_tree(tmp_path)
    proc = subprocess.run([sys.executable, "-c", BIG, str(data)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert len(got["whole"]["entries"]) == 9 + 20 * 3 + 1
    assert got["split"] == got["whole"] == got["failed"]
