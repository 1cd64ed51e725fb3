"""Loading cascade files: every error names the user's file and the line of the cause."""

from __future__ import annotations

import pytest
from _cascade_testutil import line_of

from reflexng.cascade import CascadeError, CascadeValidationError, find_cascade, load

GOOD = """\
metadata("tiny", instrument="DEMO", description="bias then flat")
raw_bias = data_source("RAW_BIAS").with_classification_rule(classification_rule("BIAS", {"DPR.TYPE": "BIAS"})).build()
raw_flat = data_source("RAW_FLAT").with_classification_rule(classification_rule("FLAT", {"DPR.TYPE": "FLAT"})).build()
bias = task("bias").with_recipe("demo_bias").with_main_input(raw_bias).build()
flat = task("flat").with_recipe("demo_flat").with_main_input(raw_flat).with_associated_input(bias).build()
"""


def test_load_good_cascade(write_cascade):
    path, _ = write_cascade(GOOD)
    c = load(path)
    assert c.name == "tiny" and c.instrument == "DEMO" and c.description == "bias then flat"
    assert list(c.tasks) == ["bias", "flat"] and list(c.data_sources) == ["RAW_BIAS", "RAW_FLAT"]
    assert c.path == str(path.resolve()) and c.load_problems == ()
    with pytest.raises(TypeError):
        c.tasks["x"] = None  # immutable mappings


def test_name_defaults_to_file_stem(write_cascade):
    path, _ = write_cascade(GOOD.replace('metadata("tiny", ', 'metadata("", '), name="my_pipeline")
    assert load(path).name == "my_pipeline"


def test_syntax_error_points_at_line(write_cascade):
    path, text = write_cascade(GOOD + "bad = task('x'.with_recipe(\n")
    with pytest.raises(CascadeError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:")
    assert "syntax error" in str(info.value)
    assert info.value.location.line >= line_of(text, "bad = task")


def test_exception_inside_file_points_at_line(write_cascade):
    path, text = write_cascade(GOOD + "threshold = 1 / 0  # boom\n")
    with pytest.raises(CascadeError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:{line_of(text, 'boom')}: ")
    assert "ZeroDivisionError" in str(info.value)


def test_exception_in_helper_function_points_at_deepest_user_line(write_cascade):
    body = GOOD + "def helper():\n    return {}['missing']  # here\n\nhelper()\n"
    path, text = write_cascade(body)
    with pytest.raises(CascadeError) as info:
        load(path)
    assert info.value.location.line == line_of(text, "# here") and "KeyError" in info.value.message


def test_forgotten_build_passed_as_input(write_cascade):
    path, text = write_cascade(GOOD + 'raw = data_source("RAW_X")\nt = task("t").with_recipe("r").with_main_input(raw).build()  # use\n')
    with pytest.raises(CascadeError, match=r"forget \.build\(\)") as info:
        load(path)
    assert info.value.location.line == line_of(text, "# use")


def test_builder_never_built(write_cascade):
    path, text = write_cascade(GOOD + 'orphan = task("orphan").with_recipe("r").with_main_input(raw_bias)  # no build\n')
    with pytest.raises(CascadeValidationError) as info:
        load(path)
    assert f"{path}:{line_of(text, '# no build')}: task 'orphan' is never built" in str(info.value)


def test_wrong_argument_type_points_at_line(write_cascade):
    path, text = write_cascade(GOOD + 'x = task("x").with_recipe("r").with_main_input("RAW_BIAS").build()  # str\n')
    with pytest.raises(CascadeError, match="expected a data source or a task") as info:
        load(path)
    assert info.value.location.line == line_of(text, "# str")
    path, text = write_cascade(GOOD + 'y = data_source("Y").with_grouping_keywords("OBJECT").build()  # str\n', name="d")
    with pytest.raises(CascadeError, match="list of names") as info:
        load(path)
    assert str(info.value).startswith(f"{path}:{line_of(text, '# str')}:")


def test_duplicate_names(write_cascade):
    body = GOOD + (
        'bias2 = task("bias").with_recipe("demo_bias").with_main_input(raw_bias).build()  # dup task\n'
        'RAW = data_source("flat").with_classification_rule(classification_rule("F", {"A": 1})).build()  # clash\n'
        'p1 = workflow_parameter("p", 1)\n'
        'p2 = workflow_parameter("p", 2)  # dup param\n'
    )
    path, text = write_cascade(body)
    with pytest.raises(CascadeValidationError) as info:
        load(path)
    out = str(info.value)
    assert f"{path}:{line_of(text, '# dup task')}: duplicate name 'bias'" in out
    assert f"defined at {path}:{line_of(text, 'bias = task')}" in out
    assert f"{path}:{line_of(text, 'flat = task')}: duplicate name 'flat'" in out  # the task after the data source
    assert f"{path}:{line_of(text, '# dup param')}: duplicate workflow parameter 'p'" in out


def test_unknown_input(write_cascade):
    body = GOOD + (
        "from reflexng.cascade.model import DataSource\n"
        'ghost = DataSource("GHOST")  # not built by a builder\n'
        't = task("t").with_recipe("r").with_main_input(raw_bias).with_associated_input(ghost).build()  # uses ghost\n'
    )
    path, text = write_cascade(body)
    with pytest.raises(CascadeValidationError) as info:
        load(path)
    assert f"{path}:{line_of(text, '# uses ghost')}: task 't': associated input 'GHOST' is not a data source" in str(info.value)
    c = load(path, validate=False)  # without validation the cascade still loads
    assert "t" in c.tasks


def test_helper_module_beside_the_cascade_runs_on_every_load(tmp_path):
    (tmp_path / "_rules.py").write_text(
        "from reflexng.cascade import data_source, classification_rule\n"
        "raw_bias = data_source('RAW_BIAS').with_classification_rule(classification_rule('BIAS', {'DPR.TYPE': 'BIAS'})).build()\n"
    )
    (tmp_path / "a.py").write_text(
        "from reflexng.cascade import task\nfrom _rules import raw_bias\n"
        "bias = task('bias').with_recipe('demo_bias').with_main_input(raw_bias).build()\n"
    )
    for _ in range(2):  # the second load must not see a cached module without registered objects
        c = load(tmp_path / "a.py")
        assert list(c.data_sources) == ["RAW_BIAS"]


def test_find_cascade_by_name_and_errors(tmp_path, monkeypatch, write_cascade):
    path, _ = write_cascade(GOOD, name="findme")
    monkeypatch.setenv("REFLEXNG_CASCADE_PATH", str(path.parent))
    assert find_cascade("findme") == path.resolve()
    assert load("findme").name == "tiny"
    with pytest.raises(CascadeError, match="no cascade named 'nothere'"):
        find_cascade("nothere")
    with pytest.raises(CascadeError, match="cascade file not found"):
        find_cascade(tmp_path / "missing.py")


@pytest.mark.parametrize(
    "suffix, text, line, message",
    [
        (".params.yaml", "default:\n  workflow_parameters: [1, 2\n", 3, "cannot read parameter set file"),
        (".params.toml", "[default]\ndescription = \"x\"\nbroken = = 1\n", 3, "cannot read parameter set file"),
        (".params.yaml", "a:\n  description: x\nb:\n  recipe_parameter: {}\n", 4, "unknown section(s) ['recipe_parameter']"),
        (".params.yaml", "a:\n  workflow_parameters: [mode, b]\n", 2, "workflow_parameters must be a mapping"),
        (".params.yaml", "a:\n  recipe_parameters:\n    bias: 3\n", 3, "recipe parameters of task 'bias' must be a mapping"),
        (".params.yaml", "- just\n- a list\n", 1, "must be a mapping of set names"),
        (".params.yaml", "a: 5\n", 1, "parameter set 'a' must be a mapping"),
    ],
)
def test_parameter_set_file_errors(write_cascade, suffix, text, line, message):
    path, _ = write_cascade(GOOD, name="ps")
    bad = path.with_name("ps" + suffix)
    bad.write_text(text)
    with pytest.raises(CascadeError) as info:
        load(path)
    assert str(info.value).startswith(f"{bad}:{line}: ") and message in str(info.value)


def test_parameter_set_defined_twice(write_cascade):
    path, _ = write_cascade(GOOD, name="ps")
    path.with_name("ps.params.yaml").write_text("night:\n  description: y\n")
    toml = path.with_name("ps.params.toml")
    toml.write_text("# comment\n[night]\ndescription = 't'\n")
    with pytest.raises(CascadeError, match="parameter set 'night' is also defined in .*ps.params.yaml") as info:
        load(path)
    assert info.value.location.path == str(toml) and info.value.location.line == 2
