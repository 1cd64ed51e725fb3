"""Application-level checks: no display → one line and exit 2, preferences and recent
sessions, stable object names, SAMP without a hub, no Qt crash at interpreter exit."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
from gui_support import write_image

from reflexng.gui.display import display_available

STABLE_NAMES = [
    "cascadeView", "fileTable", "datasetTree", "runButton", "pauseButton", "stepButton", "stopButton",
    "pauseAfterEachStep", "progressBar", "imageView", "spectrumView", "headerView", "qcTable",
    "parameterEditor", "rerunButton", "continueButton", "logView", "provenanceView",
]


def test_display_available_rules():
    assert not display_available({}, "linux")
    assert display_available({"DISPLAY": ":0"}, "linux")
    assert display_available({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert display_available({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not display_available({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert display_available({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":1"}, "linux")
    assert display_available({}, "darwin") and display_available({}, "win32")


def test_cli_without_display_says_so_and_exits_2(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    out = subprocess.run([sys.executable, "-m", "reflexng", "gui"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display available" in lines[0]
    # the Python entry point behaves the same and never imports Qt
    code = ("import sys; from reflexng.gui import launch; rc = launch(); "
            "assert 'PySide6' not in sys.modules, 'Qt imported'; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2, out.stderr


def test_cli_rejects_missing_data_folder(tmp_path):
    out = subprocess.run([sys.executable, "-m", "reflexng", "gui", "--data", str(tmp_path / "nope")],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 2 and "data folder not found" in out.stderr and "nope" in out.stderr


def test_main_window_object_names(qtbot):
    from PySide6.QtWidgets import QWidget

    from reflexng.gui.app import create_window

    win = create_window()
    qtbot.addWidget(win)
    assert win.objectName() == "mainWindow"
    missing = [n for n in STABLE_NAMES if win.findChild(QWidget, n) is None]
    assert missing == []


def test_preferences_and_recent_sessions(tmp_path):
    from reflexng.gui.preferences import MAX_RECENT, Preferences, RecentSession

    p = Preferences.load()
    assert p.theme == "light" and p.recent == []
    p.theme, p.parallel_jobs, p.pause_after_each_step = "dark", 3, True
    for i in range(MAX_RECENT + 2):
        p.remember(RecentSession(f"c{i}", [f"/d/{i}"], "science", f"/w/{i}"))
    p.remember(RecentSession("c5", ["/d/5"], "science", "/w/5"))  # again: moves to the front
    p.save()
    q = Preferences.load()
    assert q.theme == "dark" and q.parallel_jobs == 3 and q.pause_after_each_step
    assert len(q.recent) == MAX_RECENT and q.recent[0].cascade == "c5"
    assert [r.cascade for r in q.recent].count("c5") == 1
    Preferences.path().write_text("{ not json")
    assert Preferences.load().theme == "light"  # damaged file: defaults, no crash


def test_preferences_dialog_and_theme(qtbot):
    from PySide6.QtWidgets import QApplication

    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences
    from reflexng.gui.preferences_dialog import PreferencesDialog

    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    dlg = PreferencesDialog(win.prefs, win)
    qtbot.addWidget(dlg)
    dlg.theme.setCurrentText("dark")
    dlg.jobs.setValue(4)
    win.apply_preferences(dlg.apply())
    assert "dark theme" in QApplication.instance().styleSheet()
    assert win.run_controls.jobs.value() == 4
    assert Preferences.load().theme == "dark"
    win.apply_preferences(Preferences())
    assert "light theme" in QApplication.instance().styleSheet()


def test_recent_session_menu_reopens(qtbot, tmp_path, mini_cascade):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences, RecentSession

    prefs = Preferences()
    prefs.remember(RecentSession(mini_cascade.path, [str(tmp_path)], "flat", str(tmp_path / "w")))
    win = MainWindow(prefs)
    qtbot.addWidget(win)
    actions = win.recent_menu.actions()
    assert len(actions) == 1 and actions[0].text().startswith("mini")
    with qtbot.waitSignal(win.sig_cascade_loaded, timeout=20000):
        actions[0].trigger()
    qtbot.waitUntil(lambda: win.session_bar.target.currentText() == "flat")
    assert win.session_bar.data_dirs.dirs() == [str(tmp_path.resolve())]
    assert win.session_bar.workdir.text() == str(tmp_path / "w")
    # the cascade view greys what the target does not need
    assert not win.cascade_view.items_by_name["science"].node.in_target


def test_bad_cascade_is_a_message_not_a_crash(qtbot, tmp_path):
    from reflexng.gui.main_window import MainWindow
    from reflexng.gui.preferences import Preferences

    bad = tmp_path / "bad.py"
    bad.write_text("from reflexng.cascade import task\nx = (\n")
    win = MainWindow(Preferences())
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.sig_message, timeout=20000, check_params_cb=lambda t: "cannot load" in t) as m:
        win.controller.open_cascade(str(bad))
    assert "bad.py" in m.args[0]


def test_samp_without_hub_fails_gracefully(tmp_path, monkeypatch):
    from reflexng.gui.samp import send_fits

    monkeypatch.setenv("SAMP_HUB", "std-lockurl:file:///nonexistent/samp")
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.samp lock file
    p = write_image(tmp_path / "x.fits", np.zeros((4, 4), np.float32))
    msg = send_fits(p)
    assert "no SAMP hub" in msg or "not reachable" in msg
    assert "file not found" in send_fits(tmp_path / "missing.fits")


def test_samp_sends_to_a_running_hub(tmp_path, monkeypatch):
    """A real astropy SAMP hub and a receiving client: the product URL arrives."""
    import threading

    from astropy.samp import SAMPHubServer, SAMPIntegratedClient

    from reflexng.gui.samp import send_fits

    monkeypatch.setenv("HOME", str(tmp_path))
    lockfile = tmp_path / "samp.lock"
    hub = SAMPHubServer(web_profile=False, lockfile=str(lockfile), mode="multiple", addr="127.0.0.1")  # loopback only
    hub.start()
    try:
        monkeypatch.setenv("SAMP_HUB", f"std-lockurl:{lockfile.as_uri()}")
        receiver = SAMPIntegratedClient(name="viewer", addr="127.0.0.1")
        receiver.connect(hub=hub)
        got = threading.Event()
        received = {}

        def on_call(private_key, sender_id, msg_id, mtype, params, extra):
            received.update(params)
            got.set()
            receiver.reply(msg_id, {"samp.status": "samp.ok", "samp.result": {}})

        receiver.bind_receive_call("image.load.fits", on_call)
        p = write_image(tmp_path / "y.fits", np.zeros((4, 4), np.float32))
        msg = send_fits(p, timeout=20)
        # send_fits returns once the viewer replied: delivered, however loaded the machine
        assert msg == "sent y.fits over SAMP (image.load.fits) to 1 client(s)", msg
        assert got.is_set()
        assert received["url"] == p.resolve().as_uri()
        receiver.disconnect()
    finally:
        hub.stop()


def test_no_crash_at_exit_after_image_view(tmp_path):
    """Qt must not crash at interpreter exit once a pyqtgraph ImageView was shown."""
    img = write_image(tmp_path / "img.fits", np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32))
    code = textwrap.dedent(
        f"""
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication(sys.argv[:1])
        from reflexng.gui.image_view import ImageViewer
        from reflexng.gui.main_window import MainWindow
        from reflexng.gui.preferences import Preferences
        v = ImageViewer()
        v.show()
        v.show_file({str(img)!r})
        w = MainWindow(Preferences())
        w.show()
        w.inspection.show_product({str(img)!r})
        app.processEvents()
        print("shown", v.shown.shape)
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "REFLEXNG_CONFIG_DIR": str(tmp_path / "cfg")}
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert "Fatal Python error" not in out.stderr, out.stderr
    assert out.returncode == 0, out.stderr
    assert "shown (64, 64)" in out.stdout


def test_gui_state_modules_are_qt_free():
    """The GUI's state and logic modules import without Qt (tested like the core)."""
    code = textwrap.dedent(
        """
        import importlib, sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "PySide2", "qtpy"):
                    raise ImportError("Qt is blocked: " + name)
        sys.meta_path.insert(0, Block())
        for m in ("reflexng.gui", "reflexng.gui.display", "reflexng.gui.preferences", "reflexng.gui.graph_model",
                  "reflexng.gui.imaging", "reflexng.gui.samp",
                  "reflexng.gui.warmup", "reflexng.gui.task_details_model", "reflexng.gui.labels",
                  "reflexng.engine.attempts", "reflexng.organiser.overrides", "reflexng.provenance.decisions",
                  "reflexng.provenance.history", "reflexng.cli.gui"):
            importlib.import_module(m)
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
