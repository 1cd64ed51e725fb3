"""The dataset-level verbs as a user runs them (child processes): datasets, run --dataset,
run --dry-run / explain, status, clean, export; their --help and --json; bad input = one line
naming the file and what to do, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reflexng.recipes.builtin.testing import write_header_fits

# one task per object (grouped by OBJECT): one dataset per object; test recipes, no numpy in the child
CASCADE_CODE = '''
from reflexng.cascade import classification_rule, data_source, metadata, task

metadata("verbs", instrument="TEST", description="dataset verbs test cascade", default_target="prep")
raw = (data_source("RAW_SCI")
       .with_classification_rule(classification_rule("SCI", {"DPR.TYPE": "SCI"}))
       .with_grouping_keywords(["OBJECT"])
       .build())
prep = task("prep").with_recipe("test_noop").with_main_input(raw).with_recipe_parameters({"category": "PREP"}).build()
'''


def rx(*args, timeout: float = 180, input: str | None = None):
    return subprocess.run([sys.executable, "-m", "reflexng", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, input=input)


def ok(res, code: int = 0):
    assert res.returncode == code, f"exit {res.returncode}\nstderr:\n{res.stderr}\nstdout:\n{res.stdout}"
    assert "Traceback" not in res.stderr
    return res


def one_line_error(res, *names):
    assert res.returncode == 2, (res.returncode, res.stderr, res.stdout)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and not ln.endswith(" ...")]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
    for n in names:
        assert str(n) in lines[0], (n, lines[0])
    return lines[0]


@pytest.fixture(autouse=True)
def cascade_file(tmp_path):
    global CASCADE
    path = tmp_path / "verbs_cascade.py"
    path.write_text(CASCADE_CODE)
    CASCADE = str(path)
    return path


@pytest.fixture
def data(tmp_path) -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    for i, obj in enumerate(("NGC1300", "M31")):
        write_header_fits(raw / f"raw_{obj}.fits", {"OBJECT": obj, "DPR.TYPE": "SCI", "MJD-OBS": 60000.9 + i})
    return raw


def base(data, w):
    return ["--cascade", CASCADE, "--data", data, "--workdir", w]


@pytest.mark.parametrize("verb", ["datasets", "explain", "status", "clean", "export", "run"])
def test_help(verb):
    res = ok(rx(verb, "--help"))
    assert "usage: reflexng " + verb in res.stdout


def test_datasets_run_one_dataset_and_explain(tmp_path, data):
    w = tmp_path / "w"
    res = ok(rx("datasets", *base(data, w), "--json"))
    rows = json.loads(res.stdout)["datasets"]
    labels = sorted(r["label"] for r in rows)
    assert labels == ["M31_2023-02-26", "NGC1300_2023-02-25"]
    assert all(r["status"] == "complete" and r["quality_level"] == 0 and len(r["label"]) <= 60 for r in rows)
    table = ok(rx("datasets", *base(data, w))).stdout
    assert "NGC1300_2023-02-25" in table and "2 datasets: 2 complete" in table

    # dry run: every job would run, nothing written in jobs/
    plan = json.loads(ok(rx("run", *base(data, w), "--dry-run", "--json", "--dataset", "NGC*")).stdout)
    assert plan["run"] == 1 and plan["reuse"] == 0
    assert {j["dataset"] for j in plan["jobs"]} == {"NGC1300_2023-02-25"}
    assert all(j["why"] == "never ran" or j["why"].startswith("upstream job") for j in plan["jobs"])
    assert not (w / "jobs").exists()

    # run one dataset by glob; then only the other would run
    s = json.loads(ok(rx("run", *base(data, w), "--dataset", "NGC*", "--json")).stdout)
    assert len(s["jobs"]) == 1 and s["jobs"][0]["status"] == "executed"
    assert [Path(p).parent.name for p in s["end_products"]] == ["NGC1300_2023-02-25"]
    ex = json.loads(ok(rx("explain", *base(data, w), "--json")).stdout)
    by = {(j["dataset"], j["action"]) for j in ex["jobs"]}
    assert by == {("NGC1300_2023-02-25", "reuse"), ("M31_2023-02-26", "run")}
    # a parameter change: the job says why it would re-run
    ex = json.loads(ok(rx("explain", *base(data, w), "--dataset", "NGC1300_2023-02-25", "--param", "prep.payload=7",
                          "--json")).stdout)
    right = next(j for j in ex["jobs"] if j["task"] == "prep")
    assert right["action"] == "run" and right["why"] == "parameter payload '' -> 7"
    text = ok(rx("run", *base(data, w), "--dataset", "NGC1300_2023-02-25", "--param", "prep.payload=7")).stderr
    assert "re-runs because payload '' → 7" in text and "[NGC1300_2023-02-25]" in text
    # datasets now knows what was reduced
    rows = {r["label"]: r["status"] for r in json.loads(ok(rx("datasets", *base(data, w), "--json")).stdout)["datasets"]}
    assert rows == {"NGC1300_2023-02-25": "reduced", "M31_2023-02-26": "complete"}


def test_status_clean_export(tmp_path, data):
    w = tmp_path / "w"
    ok(rx("run", *base(data, w), "--json"))
    ok(rx("run", *base(data, w), "--force", "prep", "--dataset", "M31*", "--json"))  # supersedes one attempt
    st = json.loads(ok(rx("status", w, "--json")).stdout)
    assert len(st["runs"]) == 2 and st["failed"] == [] and st["disk"]["total"] > st["disk"]["jobs"] > 0
    assert "failed jobs: none" in ok(rx("status", w)).stdout

    # clean: asks (no terminal: refuses without --yes), keeps what reuse and end products need
    ends = sorted(str(p) for p in (w / "end_products").rglob("*.fits"))
    res = rx("clean", w)
    one_line_error(res, w, "--yes")
    dry = json.loads(ok(rx("clean", w, "--dry-run", "--json")).stdout)
    removed = {r["folder"] for r in dry["removed"]}
    assert len(removed) == 1 and "/prep/" in removed.copy().pop() and "attempt-001" in removed.copy().pop()
    assert all(Path(f).is_dir() for f in removed)
    done = json.loads(ok(rx("clean", w, "--yes", "--json")).stdout)
    assert {r["folder"] for r in done["removed"]} == removed and not any(Path(f).exists() for f in removed)
    # everything still reusable, end products untouched, provenance still complete
    s = json.loads(ok(rx("run", *base(data, w), "--json")).stdout)
    assert {j["status"] for j in s["jobs"]} == {"reused"}
    assert sorted(str(p) for p in (w / "end_products").rglob("*.fits")) == ends
    assert "nothing to clean" in ok(rx("clean", w, "--yes")).stdout

    # export with a pattern (sub-folders from header values), then unchanged on a second export
    out = tmp_path / "out"
    ex = json.loads(ok(rx("export", w, "--to", out, "--pattern", "{OBJECT}/{dataset}_{name}", "--json")).stdout)
    targets = sorted(Path(e["target"]).relative_to(out).as_posix() for e in ex["exported"])
    assert targets == ["M31/M31_2023-02-26_prep.fits", "NGC1300/NGC1300_2023-02-25_prep.fits"], targets
    again = json.loads(ok(rx("export", w, "--to", out, "--pattern", "{OBJECT}/{dataset}_{name}", "--json")).stdout)
    assert {e["state"] for e in again["exported"]} == {"unchanged"}
    one_line_error(rx("export", w, "--to", tmp_path / "o2", "--pattern", "{NO.SUCH.KEY}_{name}"),
                   "NO.SUCH.KEY", "end_products")
    assert not (tmp_path / "o2").exists()
    one_line_error(rx("export", w, "--to", tmp_path / "o3", "--dataset", "nope*"), "nope*", "end_products")


@pytest.mark.parametrize("verb", ["status", "clean", "export"])
def test_bad_work_directory(tmp_path, verb):
    extra = ["--to", tmp_path / "o"] if verb == "export" else []
    missing = tmp_path / "missing"
    one_line_error(rx(verb, missing, *extra), missing, "work directory")
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(rx(verb, empty, *extra), empty / "reflexng.sqlite", "--workdir")
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "reflexng.sqlite").write_bytes(b"this is not a database" * 100)
    one_line_error(rx(verb, damaged, *extra), damaged / "reflexng.sqlite", "move the damaged file aside")


def test_unknown_dataset_label(tmp_path, data):
    for verb in (["run"], ["explain"], ["run", "--dry-run"]):
        one_line_error(rx(*verb, *base(data, tmp_path / "w"), "--dataset", "ANDROMEDA"),
                       "--dataset ANDROMEDA", "reflexng datasets", "verbs_cascade.py")


def test_nothing_to_run_exits_non_zero(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = rx("run", "--cascade", CASCADE, "--data", empty, "--workdir", tmp_path / "w")
    assert res.returncode == 1 and "nothing to run" in res.stderr and "Traceback" not in res.stderr


def test_closed_pipe_is_quiet(tmp_path, data):
    w = tmp_path / "w"
    ok(rx("run", *base(data, w)))
    p = subprocess.run(f"{sys.executable} -m reflexng status {w} --runs 50 | head -c 10", shell=True,
                       capture_output=True, text=True, timeout=120)
    assert p.stderr == "" and len(p.stdout) == 10


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_terminal_progress_bar_and_plain_lines(tmp_path, data):
    """On a terminal (a pseudo-terminal here) run shows a progress bar with ETA and start lines
    with the dataset label; piped, only plain lines without control characters."""
    import os
    import pty

    w = tmp_path / "w"
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "reflexng", "run", *map(str, base(data, w)), "--force", "all"],
                            stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 65536)
        except OSError:
            break
        if not b:
            break
        chunks.append(b)
    proc.wait(timeout=180)
    os.close(master)
    tty_err = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, tty_err
    assert "ETA" in tty_err and "\x1b[" in tty_err  # rich's bar, drawn with terminal control sequences
    assert "▶ prep-" in tty_err and "[NGC1300_2023-02-25]" in tty_err and "re-runs because" in tty_err
    piped = ok(rx("run", *base(data, w), "--force", "all"))
    assert "\x1b[" not in piped.stderr and "ETA" not in piped.stderr
    assert "[1/2] done prep-" in piped.stderr
    assert "jobs in" in piped.stdout and "end products" in piped.stdout
