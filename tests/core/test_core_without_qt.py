"""The core never imports Qt: import every core module with Qt made unimportable."""

import os
import subprocess
import sys
import textwrap

import pytest

CORE = [
    "reflexng",
    "reflexng.cli",
    "reflexng.cascade",
    "reflexng.organiser",
    "reflexng.engine",
    "reflexng.provenance",
    "reflexng.recipes",
    "reflexng.fits",
    "reflexng.simulate",
]


def _core_modules() -> list[str]:
    """Every module under the core packages (everything except reflexng.gui)."""
    import reflexng

    root = os.path.dirname(reflexng.__file__)
    mods = set(CORE)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("gui", "__pycache__")]
        for f in filenames:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(root))
                mod = rel[:-3].replace(os.sep, ".")
                if mod.endswith(".__init__"):
                    mod = mod[: -len(".__init__")]
                if mod.endswith("__main__"):
                    continue
                mods.add(mod)
    return sorted(mods)


@pytest.mark.parametrize("blocked", ["PySide6", "pyqtgraph"])
def test_core_imports_without_qt(blocked):
    code = textwrap.dedent(
        f"""
        import importlib, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r} or name.startswith({blocked!r} + ".") or name in ("PyQt5", "PyQt6", "PySide2", "qtpy"):
                    raise ImportError("Qt is blocked in this test: " + name)
                return None
        sys.meta_path.insert(0, Block())
        for m in {_core_modules()!r}:
            importlib.import_module(m)
        bad = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "PyQt5", "PyQt6", "PySide2")]
        assert not bad, bad
        print("ok", len({_core_modules()!r}))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok")
