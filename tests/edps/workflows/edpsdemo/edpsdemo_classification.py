from edps import classification_rule

from . import edpsdemo_keywords as kwd

demo = {kwd.instrume: "DEMO", kwd.ins_mode: "IMAGING"}
# pro.catg: None = the keyword is absent (a raw file, not a product)
calib = {**demo, kwd.dpr_catg: "CALIB", kwd.pro_catg: None}

bias_class = classification_rule("BIAS", {**calib, kwd.dpr_type: "BIAS"})
dark_class = classification_rule("DARK", {**calib, kwd.dpr_type: "DARK"})
science_class = classification_rule("OBJECT", {**demo, kwd.dpr_catg: "SCIENCE", kwd.dpr_type: "OBJECT"})


def is_sky_flat(f):
    # a function rule: f[...] is None for a missing keyword
    return f[kwd.instrume] == "DEMO" and f[kwd.dpr_type] == "FLAT,SKY" and f[kwd.pro_catg] is None


sky_flat_class = classification_rule("SKY_FLAT", is_sky_flat)
# the same sky flats, seen by a second data source under another category
illumination_class = classification_rule("ILLUM_FLAT", {**calib, kwd.dpr_type: "FLAT,SKY"})
lamp_flat_class = classification_rule("LAMP_FLAT", {**calib, kwd.dpr_type: "FLAT,LAMP"})
catalog_class = classification_rule("REF_CATALOG", {kwd.instrume: "DEMO", kwd.pro_catg: "REF_CATALOG"})

# products
MASTER_BIAS = classification_rule("MASTER_BIAS", {kwd.pro_catg: "MASTER_BIAS"})
MASTER_DARK = classification_rule("MASTER_DARK", {kwd.pro_catg: "MASTER_DARK"})
MASTER_SKY_FLAT = classification_rule("MASTER_SKY_FLAT", {kwd.pro_catg: "MASTER_SKY_FLAT"})
REDUCED_IMG = classification_rule("REDUCED_IMG", {kwd.pro_catg: "REDUCED_IMG"})
