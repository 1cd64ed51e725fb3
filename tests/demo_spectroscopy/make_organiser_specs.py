"""Write the organiser test specs cascades/tests/demo_spectroscopy_*.json (run from the
repository root). The expected jobs are written by hand below, from the simulator's timeline."""
import json
from pathlib import Path

D0 = 61109.0
def kw(dtype, catg, mjd, tpl, expno=1, b=1, obj=None, tpl_id="x"):
    from reflexng.simulate.spectroscopy import _date
    return {"INSTRUME": "DEMO", "DPR.CATG": catg, "DPR.TYPE": dtype, "DPR.TECH": "SPECTRUM",
            "INS.MODE": "LSS", "DET.BINX": b, "DET.BINY": b, "MJD-OBS": round(mjd, 6),
            "DATE-OBS": _date(mjd), "TPL.START": _date(tpl)[:19], "TPL.EXPNO": expno,
            "TPL.ID": tpl_id, "OBJECT": obj or dtype}

def night(std2=False, arcs=True):
    f = []
    for i in range(3):
        f.append((f"bias_{i + 1}.fits", kw("BIAS", "CALIB", D0 + 0.75 + i * 0.001, D0 + 0.75, i + 1)))
    f.append(("bias_2x2.fits", kw("BIAS", "CALIB", D0 + 0.78, D0 + 0.78, 1, b=2)))
    for i in range(3):
        f.append((f"flat_cal_{i + 1}.fits", kw("FLAT,LAMP", "CALIB", D0 + 0.875 + i * 0.001, D0 + 0.875, i + 1)))
    if arcs:
        for i in range(2):
            f.append((f"arc_{i + 1}.fits", kw("WAVE,LAMP", "CALIB", D0 + 0.89 + i * 0.001, D0 + 0.89, i + 1)))
    f.append(("std_1.fits", kw("STD", "CALIB", D0 + 0.95, D0 + 0.95, obj="DEMO-STD-1")))
    if std2:
        f.append(("std_2.fits", kw("STD", "CALIB", D0 + 1.375, D0 + 1.375, obj="DEMO-STD-1")))
    for i in range(2):
        f.append((f"sci_{i + 1}.fits", kw("OBJECT", "SCIENCE", D0 + 1.12 + i * 0.008, D0 + 1.12, i + 1, obj="DEMO-GAL-1")))
    for i in range(2):
        f.append((f"flat_att_{i + 1}.fits", kw("FLAT,LAMP", "CALIB", D0 + 1.144 + i * 0.001, D0 + 1.144, i + 1)))
    static = {"INSTRUME": "DEMO", "DPR.CATG": "STATIC", "DPR.TECH": "SPECTRUM", "INS.MODE": "LSS", "MJD-OBS": 58849.0}
    f.append(("static/line_list.fits", {**static, "DPR.TYPE": "LINE_LIST", "OBJECT": "LINE_LIST"}))
    f.append(("static/std_flux.fits", {**static, "DPR.TYPE": "STD_FLUX_TABLE", "OBJECT": "DEMO-STD-1"}))
    f.append(("static/sky_lines.fits", {**static, "DPR.TYPE": "SKY_LINE_LIST", "OBJECT": "SKY_LINE_LIST"}))
    return [{"name": n, "keywords": k} for n, k in f]

B = ["bias_1.fits", "bias_2.fits", "bias_3.fits"]
CAL = ["flat_cal_1.fits", "flat_cal_2.fits", "flat_cal_3.fits"]
ATT = ["flat_att_1.fits", "flat_att_2.fits"]
ARC = ["arc_1.fits", "arc_2.fits"]
SKY = {"SKY_LINE_LIST": ["static/sky_lines.fits"]}
common = [
    {"task": "bias", "main": B},
    {"task": "flat", "main": CAL, "associated": {"bias": B}},
    {"task": "fit_order", "main": CAL, "associated": {"bias": B}},
    {"task": "wavelength_cal", "main": ARC, "associated": {"bias": B, "fit_order": CAL, "LINE_LIST": ["static/line_list.fits"]}},
]
def response(std):
    return {"task": "response", "main": [std], "associated": {"bias": B, "fit_order": CAL, "wavelength_cal": ARC,
            "flat_strategy": [std], "STD_FLUX_TABLE": ["static/std_flux.fits"], **SKY}}

spec1 = {
    "description": "demo_spectroscopy, target spec_combination, flat_strategy=close_in_time: science frames get the attached night flat, "
                   "the standard's flat_strategy step gets every flat of the night; the 2x2 bias is never used",
    "cascade": "../demo_spectroscopy.py", "target": "spec_combination",
    "workflow_parameters": {"flat_strategy": "close_in_time"},
    "files": night(),
    "classification": {"bias_1.fits": "BIAS", "flat_att_1.fits": "FLAT", "arc_1.fits": "ARC", "std_1.fits": "STD",
                       "sci_1.fits": "OBJECT", "static/line_list.fits": "LINE_LIST", "static/std_flux.fits": "STD_FLUX_TABLE",
                       "static/sky_lines.fits": "SKY_LINE_LIST"},
    "jobs": common + [
        {"task": "flat", "main": ATT, "associated": {"bias": B}},
        {"task": "fit_order", "main": ATT, "associated": {"bias": B}},
        {"task": "flat_strategy", "main": ["std_1.fits"], "associated": {"flat": CAL + ATT}},
        response("std_1.fits"),
        *({"task": "science", "main": [s], "associated": {"bias": B, "fit_order": ATT, "wavelength_cal": ARC,
           "flat": ATT, "response": ["std_1.fits"], **SKY}} for s in ("sci_1.fits", "sci_2.fits")),
        {"task": "spec_combination", "main": ["sci_1.fits", "sci_2.fits"]},
    ],
}
spec2 = {
    "description": "demo_spectroscopy, target spec_combination_std, flat_strategy=science_flat: each standard's flat_strategy step "
                   "also gets the science frame closest in time; science_std takes the response of the other standard",
    "cascade": "../demo_spectroscopy.py", "target": "spec_combination_std",
    "workflow_parameters": {"flat_strategy": "science_flat"},
    "files": night(std2=True),
    "jobs": common + [
        {"task": "flat", "main": ATT, "associated": {"bias": B}},
        # the morning standard (09:00 UT) is closer in time to the attached flats (03:28)
        {"task": "fit_order", "main": ATT, "associated": {"bias": B}},
        {"task": "flat_strategy", "main": ["std_1.fits"], "associated": {"flat": CAL + ATT, "RAW_SCIENCE": ["sci_1.fits"]}},
        {"task": "flat_strategy", "main": ["std_2.fits"], "associated": {"flat": CAL + ATT, "RAW_SCIENCE": ["sci_2.fits"]}},
        response("std_1.fits"), {**response("std_2.fits"), "associated": {**response("std_2.fits")["associated"], "fit_order": ATT}},
        {"task": "science_std", "main": ["std_1.fits"], "associated": {"bias": B, "fit_order": CAL, "wavelength_cal": ARC,
         "flat_strategy": ["std_1.fits"], "response": ["std_2.fits"], **SKY}},
        {"task": "science_std", "main": ["std_2.fits"], "associated": {"bias": B, "fit_order": ATT, "wavelength_cal": ARC,
         "flat_strategy": ["std_2.fits"], "response": ["std_1.fits"], **SKY}},
        {"task": "spec_combination_std", "main": ["std_1.fits", "std_2.fits"]},
    ],
}
spec3 = {
    "description": "demo_spectroscopy without arc frames: no wavelength solution, so response and science are incomplete and say why",
    "cascade": "../demo_spectroscopy.py", "target": "spec_combination",
    "files": night(arcs=False),
    "jobs": [common[0], common[1], common[2], {"task": "flat", "main": ATT, "associated": {"bias": B}},
             {"task": "fit_order", "main": ATT, "associated": {"bias": B}},
             {"task": "flat_strategy", "main": ["std_1.fits"], "associated": {"flat": CAL + ATT}}],
    "incomplete": [{"task": "response", "main": ["std_1.fits"], "missing_contains": "there are no ARC files"},
                   {"task": "science", "main": ["sci_1.fits"], "missing_contains": "there are no ARC files"},
                   {"task": "science", "main": ["sci_2.fits"], "missing_contains": "there are no ARC files"},
                   {"task": "spec_combination", "main": ["sci_1.fits", "sci_2.fits"], "missing_contains": "incomplete"}],
}
out = Path("cascades/tests")
out.mkdir(exist_ok=True)
for name, s in (("demo_spectroscopy_close_in_time", spec1), ("demo_spectroscopy_science_flat", spec2),
                ("demo_spectroscopy_no_arcs", spec3)):
    (out / f"{name}.json").write_text(json.dumps(s, indent=1) + "\n")
