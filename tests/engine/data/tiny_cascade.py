"""A tiny diamond cascade for engine tests: prep -> (left, right) -> final, plus a function task."""

from reflexng.cascade import classification_rule, data_source, metadata, task

metadata("tiny", instrument="TEST", description="engine test cascade", default_target="final")

raw = (data_source("RAW_SCI")
       .with_classification_rule(classification_rule("SCI", {"DPR.TYPE": "SCI"}))
       .with_grouping_keywords(["OBJECT"])
       .build())


def double_it(inputs, parameters, output_dir):
    """A function task: writes one product per call (the factor is a parameter)."""
    from reflexng.recipes.builtin.testing import write_header_fits

    out = output_dir / "doubled.fits"
    write_header_fits(out, {"OBJECT": "func", "PRO.CATG": "DOUBLED", "FACTOR": parameters.get("factor", 2)})
    return [(str(out), "DOUBLED")]


def inspect_final(products, context):
    from reflexng.recipes.inspection import Inspection

    return Inspection(title=f"final {context.job_id}", images=[p for p, _c in products], qc=dict(context.qc))


prep = task("prep").with_recipe("test_noop").with_main_input(raw).with_recipe_parameters({"category": "PREP"}).build()
left = task("left").with_recipe("test_noop").with_main_input(prep).with_recipe_parameters({"category": "LEFT"}).build()
right = task("right").with_recipe("test_noop").with_main_input(prep).with_recipe_parameters({"category": "RIGHT"}).build()
final = (task("final").with_recipe("test_noop").with_main_input(left).with_associated_input(right)
         .with_recipe_parameters({"category": "FINAL"}).with_inspector(inspect_final).build())
func = task("func").with_function(double_it).with_main_input(raw).build()
