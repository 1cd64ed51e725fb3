"""``reflexng cascade from-oca FILE.oca [-o OUT.py]``: import an OCA rule file as a cascade.

Without ``-o`` the cascade is printed on stdout and the report on stderr. With ``-o`` the file
is written, loaded and validated, and the report is printed. Exit 0 on success, 2 when the
OCA file cannot be read or parsed, or the generated cascade does not validate.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _fail(message: str) -> int:
    print(f"reflexng: {message}", file=sys.stderr)
    return 2


def run_cli(args) -> int:
    """Entry point used by ``reflexng cascade from-oca`` (``args.file``, ``args.output``)."""
    from reflexng.oca.parser import OcaSyntaxError, parse_file
    from reflexng.oca.translator import translate

    path = Path(args.file)
    if path.is_dir():
        return _fail(f"{path} is a folder; give the path of a Reflex .oca rules file")
    if not path.is_file():
        return _fail(f"OCA file not found: {path}; check the path")
    try:
        oca = parse_file(path)
        tr = translate(oca, name=Path(args.output).stem if getattr(args, "output", None) else None)
    except OcaSyntaxError as exc:
        return _fail(f"cannot parse {exc}")
    except (OSError, ValueError) as exc:
        return _fail(f"cannot import {path}: {exc}")
    out = getattr(args, "output", None)
    summary = (f"{path}: {len(oca.rules)} classification rules, {len(oca.selects)} organisation "
               f"rules, {len(oca.actions)} actions -> {len(tr.data_sources)} data sources, "
               f"{len(tr.tasks)} tasks ({len(tr.skipped_tasks)} not translated)")
    report = "\n".join(f"  - {r}" for r in tr.report) or "  - everything translated"
    if not out:
        sys.stdout.write(tr.code)
        print(f"{summary}\nTranslation report:\n{report}", file=sys.stderr)
        return 0
    out_path = Path(out)
    if out_path.exists() and out_path.is_dir():
        return _fail(f"-o {out_path} is a folder; give the path of a .py file")
    if out_path.exists() and not getattr(args, "force", False):
        return _fail(f"-o {out_path}: the file exists; give another path, or --force to replace it")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(tr.code, encoding="utf-8")
    except OSError as exc:
        return _fail(f"cannot write {out_path}: {exc}")
    print(f"{summary}\nwrote {out_path}\nTranslation report:\n{report}")
    from reflexng.cascade import CascadeError, load
    from reflexng.cascade.validate import validate

    try:
        problems = validate(load(out_path))
    except CascadeError as exc:
        return _fail(f"the generated cascade does not load: {exc}")
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        print(f"  {p}")
    if errors:
        return _fail(f"the generated cascade has {len(errors)} validation error(s)")
    print(f"validated: {len(problems)} warning(s), no errors")
    return 0
