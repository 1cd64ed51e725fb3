"""Run one job of an esorex recipe: SOF, scratch directory, the esorex process, exit codes.

Layout for a job whose products go to ``OUT`` (created if missing)::

    OUT/                      the products (esorex --output-dir)
    OUT.esorex/               scratch working directory (esorex's cwd)
        inputs.sof            absolute paths + tags (symlinks in staged/ for paths with spaces)
        recipe.rc             fullname=value for every parameter given
        products.json         esorex --products-sof
        esorex.log            esorex --log-dir/--log-file

esorex runs in its own process group; SIGTERM/SIGINT received by this process are forwarded
to it. Its exit code becomes a clear :class:`RecipeError` with the last lines of the log.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reflexng.recipes.protocol import RecipeError, RecipeResult


def esorex_path() -> str | None:
    """The esorex executable (``$REFLEXNG_ESOREX`` or ``esorex`` on PATH), or None."""
    import shutil

    return shutil.which(os.environ.get("REFLEXNG_ESOREX", "esorex"))

CRASH = ("recipe crashed ({sig}) — often a missing header keyword or unexpected image size; "
         "see the log")
EXIT_REASONS = {
    1: "recipe failed (CPL error 1)",
    5: "recipe failed (CPL error 5)",
    9: "esorex could not read the input list, or an input file is missing or unreadable",
    10: "recipe failed: a header keyword or an input tag it needs is missing (CPL error 10, "
        "data not found)",
    13: "esorex does not know this recipe (is its pipeline installed?)",
    14: "recipe failed: illegal input (CPL error 14) — e.g. an image smaller than the "
        "border window, or a parameter value the data cannot satisfy",
    250: "esorex rejected the recipe configuration (parameter file)",
    254: "esorex rejected the recipe configuration (parameter file)",
    255: "esorex rejected an option, the output folder is missing, or the recipe returned -1",
    134: CRASH.format(sig="SIGABRT"),
    139: CRASH.format(sig="SIGSEGV"),
    143: "cancelled: esorex was stopped by SIGTERM (no products)",
}
_NOISE = re.compile(r"Run-time version .* of CPL is higher than|ESO Recipe Execution Tool|^\s*$"
                    r"|^Program name|^Severity level|This is EsoRex|using the libraries"
                    r"|Invocation command line")


def exit_reason(code: int) -> str:
    """Words for an esorex exit code (negative = killed by that signal)."""
    if code < 0:
        code = 128 - code
    if code in EXIT_REASONS:
        return EXIT_REASONS[code]
    if code > 128:
        try:
            name = signal.Signals(code - 128).name
        except ValueError:
            name = f"signal {code - 128}"
        return f"esorex was killed by {name}"
    return f"recipe failed (esorex exit code {code})"


@dataclass(frozen=True)
class Prepared:
    """Everything needed to start (or replay) one esorex job."""

    argv: tuple[str, ...]
    cwd: Path
    sof: Path
    rc: Path
    products_json: Path
    log: Path
    output_dir: Path


def scratch_dir(output_dir: Path) -> Path:
    return output_dir.with_name(output_dir.name + ".esorex")


def _read_sof(path: Path) -> list[tuple[str, str]]:
    """``path TAG`` lines; the tag is the last word, so a path may contain spaces."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.strip().rsplit(None, 1)
        if len(parts) < 2:
            raise RecipeError(f"{path}:{n}: a SOF line needs 'path TAG', got {line!r}")
        out.append((parts[0], parts[1]))
    return out


def _stage(path: Path, folder: Path, n: int) -> Path:
    """A space-free symlink to ``path`` (esorex cannot read SOF paths with spaces)."""
    folder.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"\s+", "_", path.name)
    link = folder / f"{n:03d}_{safe}"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(path)
    return link


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def rc_lines(recipe, params: Mapping[str, Any]) -> list[str]:
    """``fullname=value`` lines for ``--recipe-config`` (names checked, values coerced).

    Written as ``esorex --create-config`` writes them: a multi-token string as it is
    (``xcorr=40 40 65 65``); an empty string cannot be read back by esorex ("does not fit
    'key=value' format"), so like esorex it is written commented out (``#name=``) and the
    recipe uses its own (empty) default."""
    out = []
    for name, value in params.items():
        full = recipe.canonical(name)
        spec = recipe.parameter(full)
        if spec is None:
            known = ", ".join(p.name for p in recipe.parameters) or "none"
            raise RecipeError(f"{recipe.name}: unknown parameter {name!r}; known: {known}")
        if value is None:
            continue
        try:
            value = spec.coerce(value)
        except ValueError as exc:
            raise RecipeError(f"{recipe.name}: {exc}") from None
        text = _format_value(value)
        if re.search(r"[\x00-\x1f\x7f]", text):  # one line per parameter in the file
            raise RecipeError(f"{recipe.name}: parameter {full}: {value!r} contains a control character; "
                              "give the value on one line")
        if not text.strip():
            out.append(f"#{full}=")
            continue
        out.append(f"{full}={text}")
    return out


def common_options(recipe) -> list[str]:
    return [f"--recipe-dir={recipe.library.parent}", "--suppress-link=TRUE",
            "--suppress-prefix=TRUE"]


def replay_script(recipe, sof: Any, params: Mapping[str, Any], output_dir: Any) -> str:
    """Shell lines that run the job again from the attempt folder (no side effects now).

    The parameter file is written by ``printf`` of quoted lines; ``output_dir`` "." means the replay
    folder ``$out`` that the engine's ``replay.sh`` creates (falling back to ".").
    """
    out = '"${out:-.}"' if str(output_dir) in ("", ".") else shlex.quote(str(output_dir))
    # every value is shell-quoted (never a here-document): no parameter value or file name can
    # inject a command; space-free staging links go to a temporary folder when the attempt
    # folder's own path has spaces (esorex cannot read SOF paths with spaces)
    rc = rc_lines(recipe, params)
    lines = [("printf '%s\\n' " + " ".join(map(shlex.quote, rc)) if rc else ":") + " > esorex-replay.rc",
             'stage="$(pwd)/esorex-staged"',
             'case "$stage" in *[[:space:]]*) stage="$(mktemp -d /tmp/reflexng-sof.XXXXXX)" || exit 2;; esac']
    if isinstance(sof, (str, os.PathLike)):
        try:
            spaces = bool(re.search(r"\s", str(sof))) or any(re.search(r"\s", p) for p, _ in _read_sof(Path(sof)))
        except OSError:  # written after this call: stage at replay time if needed
            spaces = True
        if not spaces:
            sof_arg = shlex.quote(str(sof))
        else:  # stage space-free symlinks when replaying
            lines += ['mkdir -p "$stage"', ": > esorex-replay.sof", "n=0",
                      "while IFS= read -r line; do",
                      '  [ -n "$line" ] || continue',
                      '  tag=${line##* }; path=${line% *}',
                      '  case "$path" in *[[:space:]]*) n=$((n+1))',
                      '    ln -sfn "$path" "$stage/$n.fits"; path="$stage/$n.fits";; esac',
                      '  printf \'%s %s\\n\' "$path" "$tag" >> esorex-replay.sof',
                      f"done < {shlex.quote(str(sof))}"]
            sof_arg = "esorex-replay.sof"
    else:  # (path, tag) pairs: write the SOF here, staging paths with spaces
        lines += ['mkdir -p "$stage"', ": > esorex-replay.sof"]
        for n, (path, tag) in enumerate(sof):
            p = str(Path(path).absolute())
            if re.search(r"\s", p):
                safe = re.sub(r"[^\w.+-]", "_", Path(p).name)
                link = f'"$stage"/{n:03d}_{shlex.quote(safe)}'
                lines.append(f"ln -sfn {shlex.quote(p)} {link}")
                lines.append(f"printf '%s %s\\n' {link} {shlex.quote(str(tag))} >> esorex-replay.sof")
            else:
                lines.append(f"printf '%s %s\\n' {shlex.quote(p)} {shlex.quote(str(tag))} >> esorex-replay.sof")
        sof_arg = "esorex-replay.sof"
    argv = [shlex.quote(esorex_path() or "esorex"), *map(shlex.quote, common_options(recipe)),
            f"--output-dir={out}", f"--products-sof={out}/products.json", f"--log-dir={out}",
            "--log-file=esorex.log", "--recipe-config=esorex-replay.rc",
            shlex.quote(recipe.recipe), sof_arg]
    lines.append(" ".join(argv))
    return "\n".join(lines)


def prepare(recipe, sof: Any, params: Mapping[str, Any], output_dir: Path) -> Prepared:
    """Write the SOF and the parameter file; return the command (nothing is run)."""
    output_dir = Path(output_dir).absolute()
    work = scratch_dir(output_dir)
    work.mkdir(parents=True, exist_ok=True)
    output_dir.mkdir(parents=True, exist_ok=True)
    inputs = _read_sof(Path(sof)) if isinstance(sof, (str, os.PathLike)) else list(sof)
    staged = work / "staged"
    if re.search(r"\s", str(work)):
        staged = Path(tempfile.mkdtemp(prefix="reflexng-sof-"))
    lines = []
    for n, (path, tag) in enumerate(inputs):
        p = Path(path).absolute()
        if not p.exists():
            raise RecipeError(f"input file not found: {p} (tag {tag})")
        if not tag or re.search(r"\s", tag):
            raise RecipeError(f"input {p}: the tag {tag!r} is empty or contains spaces")
        if re.search(r"\s", str(p)):
            p = _stage(p, staged, n)
        lines.append(f"{p} {tag}")
    sof_path = work / "inputs.sof"
    sof_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rc = work / "recipe.rc"
    rc.write_text("\n".join(rc_lines(recipe, params)) + "\n", encoding="utf-8")
    products_json = work / "products.json"
    exe = esorex_path() or "esorex"
    argv = (
        exe,
        *common_options(recipe),
        f"--output-dir={output_dir}",
        f"--products-sof={products_json}",
        f"--log-dir={work}",
        "--log-file=esorex.log",
        f"--recipe-config={rc}",
        recipe.recipe,
        str(sof_path),
    )
    return Prepared(argv, work, sof_path, rc, products_json, work / "esorex.log", output_dir)


def shell_command(prep: Prepared) -> str:
    """``cd <scratch> && esorex ...`` (esorex writes temporary files into its cwd)."""
    return f"cd {shlex.quote(str(prep.cwd))} && " + " ".join(shlex.quote(a) for a in prep.argv)


def _pump(stream, sink, tail: collections.deque) -> None:
    for line in iter(stream.readline, ""):
        if _NOISE.search(line):
            continue
        tail.append(line.rstrip("\n"))
        sink.write(line)
        sink.flush()
    stream.close()


def _log_tail(prep: Prepared, fallback: collections.deque, n: int = 15) -> str:
    lines: list[str] = []
    try:
        lines = [ln for ln in prep.log.read_text(errors="replace").splitlines() if not _NOISE.search(ln)]
    except OSError:
        pass
    return "\n".join((lines or list(fallback))[-n:])


def _own_group() -> None:
    """In the esorex child before exec: a process group of its own, and SIGTERM when the
    job process dies (Linux), so esorex never outlives a killed job."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _execute(prep: Prepared) -> tuple[int, collections.deque]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESOREX_")}
    tail: collections.deque = collections.deque(maxlen=40)
    state: dict[str, Any] = {"proc": None, "signal": None}

    def forward(signum, _frame) -> None:
        state["signal"] = signum
        proc = state["proc"]
        if proc is None:
            return  # not started yet: it is killed as soon as it exists
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            pass

    old: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):  # before starting: no window without it
            old[sig] = signal.signal(sig, forward)
    try:
        proc = subprocess.Popen(prep.argv, cwd=prep.cwd, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace",
                                preexec_fn=_own_group)
        state["proc"] = proc
        if state["signal"] is not None:
            forward(state["signal"], None)
        pumps = [threading.Thread(target=_pump, args=(proc.stdout, sys.stdout, tail), daemon=True),
                 threading.Thread(target=_pump, args=(proc.stderr, sys.stderr, tail), daemon=True)]
        try:
            for t in pumps:
                t.start()
            code = proc.wait()
            for t in pumps:
                t.join(timeout=5)
        except BaseException:
            forward(signal.SIGTERM, None)
            proc.wait()
            raise
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return code, tail


def _collect(recipe, prep: Prepared) -> list[tuple[str, str]]:
    try:
        entries = json.loads(prep.products_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        entries = []
    products = []
    for e in entries:
        p = Path(e["name"])
        if not p.is_absolute():
            p = prep.output_dir / p.name if (prep.output_dir / p.name).exists() else prep.cwd / p
        category = recipe.downstream_tags.get(e.get("category", ""), e.get("category", ""))
        products.append((str(p), category))
    return products


def _qc(products: Sequence[tuple[str, str]]) -> dict[str, Any]:
    from astropy.io import fits

    qc: dict[str, Any] = {}
    for path, _cat in products:
        try:
            header = fits.getheader(path)
        except (OSError, ValueError):
            continue
        for card in header.cards:
            key = card.keyword
            if key.startswith("ESO QC "):
                qc.setdefault("QC." + key[7:].replace(" ", "."), card.value)
    return qc


def run_job(recipe, inputs: Sequence[tuple[str, str]], parameters: Mapping[str, Any],
            output_dir: Path) -> RecipeResult:
    """Run one esorex job; products as (path, tag for the next SOF); RecipeError on failure."""
    prep = prepare(recipe, inputs, parameters, output_dir)
    prep.products_json.unlink(missing_ok=True)
    print("$ " + shell_command(prep), flush=True)
    code, tail = _execute(prep)
    if code != 0:
        raise RecipeError(f"{recipe.name}: {exit_reason(code)} (exit code "
                          f"{code if code >= 0 else 128 - code}).\nLast log lines "
                          f"({prep.log}):\n{_log_tail(prep, tail)}")
    products = _collect(recipe, prep)
    missing = [p for p, _ in products if not Path(p).exists()]
    if not products or missing:
        raise RecipeError(f"{recipe.name}: esorex finished but "
                          f"{'wrote no products' if not products else 'lost ' + ', '.join(missing)}"
                          f"; see the log {prep.log}:\n{_log_tail(prep, tail)}")
    return RecipeResult(products=products, qc=_qc(products))
