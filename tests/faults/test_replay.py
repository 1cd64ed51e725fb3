"""replay.sh: works in a work directory with spaces; no parameter value can inject a command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reflexng.recipes.protocol import ParameterSpec

from ._faults import run_json

ESOREX = shutil.which("esorex") is not None or bool(os.environ.get("CI"))


@pytest.fixture(scope="module")
def uves_data(tmp_path_factory):
    if not ESOREX:
        pytest.skip("esorex is not installed")
    out = tmp_path_factory.mktemp("uves") / "data"
    subprocess.run([sys.executable, "-m", "reflexng", "demo-data", "--out", str(out), "--instrument", "uves",
                    "--mode", "spectroscopy", "--nights", "1"], check=True, capture_output=True, timeout=300)
    return out


@pytest.mark.esorex
def test_esorex_replay_works_in_a_work_directory_with_spaces(uves_data, tmp_path, raw_guard):
    raw_guard(uves_data)
    w = tmp_path / "my reductions" / "uves run"
    summary, _ = run_json("uves_blue_calib", uves_data, w, code=0)
    dark = next(j for j in summary["jobs"] if j["task"] == "master_dark")
    product = Path(dark["products"][0])
    replay = product.parent.parent / "replay.sh"
    r = subprocess.run(["sh", str(replay)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert list(replay.parent.glob("replay-*/masterdark_blue.fits")), list(replay.parent.iterdir())


@pytest.mark.parametrize("value", ["a\nb", "x\rtouch pwned", "nul\x00", "tab\there", "esc\x1b[2J"])
def test_a_parameter_value_with_a_control_character_is_refused(value):
    with pytest.raises(ValueError, match="control character"):
        ParameterSpec("method", "str", "median").coerce(value)


@pytest.mark.esorex
def test_no_parameter_value_or_file_name_injects_into_the_esorex_replay(tmp_path):
    if not ESOREX:
        pytest.skip("esorex is not installed")
    from reflexng.recipes.esorex import get_recipe
    from reflexng.recipes.esorex_run import replay_script
    from reflexng.recipes.protocol import RecipeError

    r = get_recipe("uves_cal_mbias")
    with pytest.raises(RecipeError, match="control character"):
        replay_script(r, [("/x.fits", "BIAS_BLUE")], {"uves.plotter": "no\nREFLEXNG_EOF\ntouch pwned"}, ".")
    # shell syntax in a value or a file name stays data: the script runs esorex, nothing else
    evil = tmp_path / "$(touch pwned1) `touch pwned2`.fits"
    evil.write_bytes(b"")
    script = replay_script(r, [(str(evil), "BIAS_BLUE"), (str(tmp_path / "b;touch pwned3.fits"), "BIAS_BLUE")],
                           {"uves.plotter": "no'$(touch pwned4)'"}, ".")
    attempt = tmp_path / "att empt"
    attempt.mkdir()
    (attempt / "replay.sh").write_text('cd "$(dirname "$0")" || exit 2\nout=replay\nmkdir -p "$out"\n' + script + "\n")
    subprocess.run(["sh", str(attempt / "replay.sh")], capture_output=True, timeout=120)
    assert not [p for p in (*tmp_path.rglob("pwned*"), *Path.cwd().glob("pwned*"))]
    rc = (attempt / "esorex-replay.rc").read_text()
    assert rc == "uves.plotter=no'$(touch pwned4)'\n", rc
