"""ds9-grade inspection on real FITS files and real widgets: stretches and limits, colour bar,
zoom 1:1, a window of its own, symmetric A − B difference and blink, spectra with error band
and overlay, the parameter editor's tooltips and changed markers, figures drawn in a worker
only when visible, damaged products shown as a message, one job in focus."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from gui_support import write_image

from reflexng.recipes.protocol import ParameterSpec


def _ramp(tmp_path, name="ramp.fits"):
    data = np.tile(np.linspace(0.0, 1000.0, 200, dtype=np.float32), (100, 1))
    return write_image(tmp_path / name, data), data


def test_stretches_change_the_colours_and_the_colour_bar_shows_them(qtbot, tmp_path):
    from reflexng.gui.image_view import ImageViewer
    from reflexng.gui.imaging import STRETCHES

    path, data = _ramp(tmp_path)
    iv = ImageViewer()
    qtbot.addWidget(iv)
    iv.show_file(str(path))
    iv.set_scale("minmax")
    assert iv.levels() == pytest.approx((0.0, 1000.0))
    mids = {}
    for stretch in STRETCHES:
        iv.set_stretch(stretch)
        lut = iv.displayed_colours()
        assert lut.shape[0] == 256
        mids[stretch] = int(lut[64][0])  # grey value a quarter of the way up the limits
        # the image item draws with the colour bar's table and limits
        assert tuple(iv.item.levels) == pytest.approx(iv.levels())
        np.testing.assert_array_equal(iv.colour_bar.colorMap().getLookupTable(nPts=256, alpha=True), lut)
    assert mids["linear"] == pytest.approx(64, abs=2)
    # log, sqrt and asinh lift the faint end; histogram equalisation of a uniform ramp is ~linear
    assert mids["log"] > mids["sqrt"] > mids["linear"] and mids["asinh"] > mids["linear"]
    assert mids["histeq"] == pytest.approx(64, abs=12)
    with pytest.raises(ValueError, match="unknown stretch"):
        iv.set_stretch("cubic")


def test_zoom_one_to_one_fit_and_own_window(qtbot, tmp_path):
    from reflexng.gui.image_view import ImageViewer

    path, _data = _ramp(tmp_path)
    iv = ImageViewer()
    qtbot.addWidget(iv)
    iv.resize(700, 500)
    iv.show()
    qtbot.waitExposed(iv)
    assert iv.stack.currentWidget() is iv.placeholder  # no empty plot before anything is shown
    iv.show_file(str(path))
    iv.zoom_one()
    assert iv.zoom_factor() == pytest.approx(1.0, rel=0.02)
    iv.zoom_fit()
    (x0, x1), _ = iv.view.viewRange()
    assert x0 <= 0 and x1 >= 200
    dlg = iv.detach()
    assert dlg is not None and dlg.isWindow() and dlg.objectName() == "imageWindow"
    qtbot.waitUntil(dlg.isVisible)
    np.testing.assert_array_equal(dlg.viewer.shown, iv.shown)
    dlg.close()
    qtbot.waitUntil(lambda: not iv.windows)


def test_difference_is_symmetric_and_blink_keeps_the_limits(qtbot, tmp_path):
    from reflexng.gui.image_view import ImageViewer

    rng = np.random.default_rng(2)
    a = rng.normal(100, 1, (40, 40)).astype(np.float32)
    b = a.copy()
    b[:20] += 30.0  # B brighter in the lower half: A − B is −30 there, 0 above
    pa, pb = write_image(tmp_path / "a.fits", a), write_image(tmp_path / "b.fits", b)
    iv = ImageViewer()
    qtbot.addWidget(iv)
    iv.show_file(str(pa))
    iv.compare_with(str(pb))
    assert iv.compare_combo.currentText() == "A − B" and iv.difference
    lo, hi = iv.levels()
    assert lo == pytest.approx(-hi) and hi >= 29.0  # negative differences are inside the limits
    lut = iv.displayed_colours()
    centre = lut[128]
    assert min(centre[:3]) > 200  # zero difference is (near) white in the diverging map
    assert lut[0][2] > lut[0][0]  # the most negative difference is blue, not black
    assert "A − B -30" in iv.describe_pixel(5, 5)
    iv.compare_combo.setCurrentText("blink")
    levels = iv.levels()
    with qtbot.waitSignal(iv._blink.timeout, timeout=3000):
        pass
    assert tuple(iv.item.levels) == pytest.approx(levels)
    iv.compare_combo.setCurrentText("A")
    assert not iv.difference


def test_spectrum_error_band_and_overlay(qtbot, tmp_path):
    from reflexng.gui.imaging import read_spectrum
    from reflexng.gui.viewers import SpectrumViewer

    wave = np.linspace(4000, 5000, 300)
    flux = 10 + np.sin(wave / 50)
    err = np.full_like(flux, 0.5)
    cols = fits.ColDefs([fits.Column("WAVE", "D", array=wave, unit="Angstrom"), fits.Column("FLUX", "D", array=flux),
                         fits.Column("ERR", "D", array=err)])
    p = tmp_path / "spec.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols)]).writeto(p)
    x, y, xl, _yl, e = read_spectrum(p, with_error=True)
    np.testing.assert_allclose(e, err)
    assert xl == "WAVE [Angstrom]"
    sv = SpectrumViewer()
    qtbot.addWidget(sv)
    sv.show_file(str(p))
    assert sv.error_band.isVisible()
    lx, ly = sv._lower.getData()
    np.testing.assert_allclose(ly, flux - 0.5)
    sv.overlay(x, y * 1.1, "attempt 1")
    ox, oy = sv.overlay_curve.getData()
    np.testing.assert_allclose(oy, flux * 1.1)
    assert sv.legend.isVisible()
    # a 1-D image with an ERR extension of the same length
    p2 = tmp_path / "spec1d.fits"
    h = fits.Header({"CRVAL1": 4000.0, "CDELT1": 2.0, "CRPIX1": 1.0})
    fits.HDUList([fits.PrimaryHDU(flux.astype(np.float32), h), fits.ImageHDU(err.astype(np.float32), name="ERR")]).writeto(p2)
    sv.show_file(str(p2))
    assert sv.error is not None and sv.error_band.isVisible() and not sv.legend.isVisible()


def test_figures_drawn_in_a_worker_only_when_visible(qtbot):
    from matplotlib.figure import Figure

    from reflexng.gui.viewers import FigureTabs

    class Broken(Figure):
        def draw(self, renderer):
            raise RuntimeError("the inspector's figure is broken")

    figs = []
    for title in ("residuals", "histogram"):
        f = Figure(figsize=(3, 2))
        ax = f.add_subplot()
        ax.plot([1, 3, 2])
        ax.set_title(title)
        figs.append(f)
    figs.append(Broken(figsize=(3, 2)))
    ft = FigureTabs()
    qtbot.addWidget(ft)
    ft.set_figures(figs)
    assert [p.state for p in ft.pages()] == ["new", "new", "new"]  # hidden: nothing drawn
    with qtbot.waitSignal(ft.sig_drawn, timeout=20000):
        ft.show()
    pages = ft.pages()
    assert pages[0].state == "drawn" and pages[0].image.width() == 300 and pages[1].state == "new"
    with qtbot.waitSignal(ft.sig_drawn, timeout=20000):
        ft.setCurrentIndex(2)
    assert pages[2].state == "failed" and "broken" in pages[2].text()


def test_damaged_and_huge_products_give_a_message(qtbot, tmp_path):
    from reflexng.gui.inspection_panel import InspectionPanel

    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"SIMPLE  =                    T" + b"\0" * 100)
    panel = InspectionPanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.sig_product_shown, timeout=20000):
        panel.show_product(str(bad))
    assert "cannot show bad.fits" in panel.notes.text()
    big = write_image(tmp_path / "big.fits", np.zeros((2048, 2048), np.float32))
    with qtbot.waitSignal(panel.sig_product_shown, timeout=60000):
        panel.show_product(str(big))  # read in a worker: the event loop runs meanwhile
    assert panel.image.shown.shape == (2048, 2048) and panel.notes.text() == ""


def test_parameter_editor_scrolls_with_tooltips_and_changed_markers(qtbot):
    from reflexng.gui.parameter_editor import ParameterEditor

    specs = [ParameterSpec(f"p{i}", "float", 1.0, f"the {i}th threshold in sigma", min=0, max=10) for i in range(40)]
    pe = ParameterEditor()
    qtbot.addWidget(pe)
    pe.resize(400, 200)
    pe.set_parameters(specs, {"p3": 2.0})
    pe.show()
    qtbot.waitExposed(pe)
    assert pe.scroll.verticalScrollBar().maximum() > 0  # 40 rows scroll inside the editor
    tip = pe.editors["p3"].toolTip()
    assert "the 3th threshold in sigma" in tip and "default: 1.0" in tip and "ran with 2.0" in tip
    assert "range: 0 … 10" in tip
    pe.set_value("p5", 4.0)
    assert pe.markers["p5"].text() == "● changed" and pe.markers["p4"].text() == ""
    assert pe.changed_label.text() == "1 changed"
    pe.reset()
    assert pe.markers["p5"].text() == "" and pe.changed_label.text() == ""


def test_one_job_in_focus(qtbot, tmp_path):
    from reflexng.gui.inspection_panel import PLACEHOLDER, InspectionPanel

    path, _ = _ramp(tmp_path)
    panel = InspectionPanel()
    qtbot.addWidget(panel)
    specs = [ParameterSpec("sigma", "float", 3.0, "clip")]
    with qtbot.waitSignal(panel.sig_product_shown, timeout=20000):
        panel.set_job("bias-1", "bias-1: task bias", [(str(path), "MASTER_BIAS")], (specs, {}, {}))
    panel.set_paused(True, True)
    assert panel.rerun_button.isEnabled() and panel.rerun_button.text() == "Re-run bias-1"
    # a failure of another job moves the whole panel to it: nothing of bias-1 stays
    panel.show_failure("flat-1", "recipe crashed", ["line 1", "line 2"])
    assert panel.job_id == "flat-1" and "flat-1" in panel.title.text()
    assert panel.products.count() == 0 and not panel.editor.editors and panel.image.shown is None
    assert panel.rerun_button.text() == "Re-run flat-1"
    emitted = []
    panel.sig_rerun.connect(lambda j, p: emitted.append((j, p)))
    panel.rerun_button.click()
    assert emitted == [("flat-1", {})]  # the failed job, with its own parameters
    panel.reset()
    assert panel.title.text() == PLACEHOLDER and panel.job_id is None and not panel.rerun_button.isEnabled()
