"""Modules stay small (issue 11): no module in reflexng/engine or reflexng/gui over 450 lines,
and every piece of the GUI controller (controller.py and each module whose class is built from
the controller) at most 250 lines; no other GUI module reaches into a controller's private
(underscore) attributes. Read with ``ast``: no Qt needed."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUI = ROOT / "reflexng" / "gui"
MODULE_LIMIT = 450
CONTROLLER_LIMIT = 250
# the controller split by responsibility: these must exist (and any new piece is found too)
CONTROLLER_PIECES = {"controller.py", "organise_control.py", "run_control.py", "job_view.py"}
CONTROLLER_NAMES = {"c", "controller", "_controller", "ctl", "ctrl"}


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def _built_from_controller(tree: ast.Module) -> bool:
    """A class whose ``__init__(self, controller, ...)`` takes the controller: one of its pieces."""
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                args = [a.arg for a in fn.args.args]
                if len(args) > 1 and args[1] == "controller":
                    return True
    return False


def _controller_pieces() -> dict[str, Path]:
    found = {"controller.py": GUI / "controller.py"}
    for path in sorted(GUI.rglob("*.py")):
        if _built_from_controller(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            found[path.name] = path
    return found


def test_no_engine_or_gui_module_over_450_lines():
    paths = sorted((ROOT / "reflexng" / "engine").rglob("*.py")) + sorted(GUI.rglob("*.py"))
    assert len(paths) > 20, "the engine and gui packages were not found"
    too_long = {str(p.relative_to(ROOT)): n for p in paths if (n := _lines(p)) > MODULE_LIMIT}
    assert not too_long, f"modules over {MODULE_LIMIT} lines (split them by responsibility): {too_long}"


def test_controller_pieces_at_most_250_lines():
    pieces = _controller_pieces()
    missing = CONTROLLER_PIECES - set(pieces)
    assert not missing, f"controller pieces not found (renamed? update CONTROLLER_PIECES): {sorted(missing)}"
    too_long = {name: n for name, p in pieces.items() if (n := _lines(p)) > CONTROLLER_LIMIT}
    assert not too_long, f"controller pieces over {CONTROLLER_LIMIT} lines: {too_long}"


def _controller_private_uses(path: Path, root: Path = ROOT) -> list[str]:
    """``c._x``, ``controller._x``, ``self.c._x``, ``win.controller._x`` ... (not dunders)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")):
            continue
        owner = node.value
        name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
        if name in CONTROLLER_NAMES:
            out.append(f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}")
    return sorted(out)


def test_no_gui_module_uses_a_controllers_private_attributes():
    uses = [u for p in sorted(GUI.rglob("*.py")) if p.name != "controller.py" for u in _controller_private_uses(p)]
    assert not uses, "a pane reaches into the controller's private attributes:\n" + "\n".join(uses)


def test_private_use_check_finds_one(tmp_path):
    """The check above is not vacuous: it finds each spelling of a private use."""
    src = tmp_path / "pane.py"
    src.write_text("def f(self, c, win):\n    c._a\n    self.c._b()\n    win.controller._c = 1\n    c.__class__\n")
    found = [u.rsplit(": ", 1)[1] for u in _controller_private_uses(src, tmp_path)]
    assert found == ["c._a", "self.c._b", "win.controller._c"]
