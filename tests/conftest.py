"""Shared test set-up: Qt runs offscreen; child Pythons import the installed reflexng.

PYTHONSAFEPATH keeps ``python -c``/``-m`` children from putting the current folder (the
checkout) first on sys.path, so they run the installed package, as a user would.
"""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("PYTHONSAFEPATH", "1")
# the test_* recipes are not part of the shipped entry point: the tests add them (children inherit this)
os.environ["REFLEXNG_RECIPE_MODULES"] = "reflexng.recipes.builtin.testing"

# the application registers its recipe lookup with the cascade validator at start; so do the tests
import pytest  # noqa: E402
from faults import _procs  # noqa: E402 - tests/ is on sys.path (this conftest's folder)

import reflexng.recipes.registry  # noqa: E402, F401


@pytest.fixture(autouse=True)
def no_process_left(monkeypatch):
    """Fail any test that leaves a process behind (checked on Linux, where /proc exists)."""
    if not os.path.isdir("/proc/self"):
        yield
        return
    token = _procs.new_token()
    monkeypatch.setenv(_procs.TAG, token)
    yield
    left = _procs.check_none_left(token)
    if left:
        pytest.fail("processes left behind (killed now): " + "; ".join(f"{p} {c}" for p, c in left), pytrace=False)


@pytest.fixture
def flow_setup(tmp_path):
    """(cascade, raw folder, work directory) of the small bias -> science cascade (tests/flow_data.py)."""
    from flow_data import make_flow_data

    return make_flow_data(tmp_path)


@pytest.fixture
def promote_setup(tmp_path):
    """The same with two bias frames and two of another instrument (promote / override tests)."""
    from flow_data import make_flow_data

    return make_flow_data(tmp_path, n_bias=2, other_instrument=True, name="promote.py")


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report):
    """Print a failure's report at once, not only in the summary: a later crash of the interpreter
    (CI fails on "Fatal Python error") would otherwise take the reason for the first failure with it."""
    if not report.failed:
        return
    reporter = _TERMINAL.get("reporter")
    if reporter is not None:
        reporter.write_line("")
        reporter.write_sep("!", f"{report.nodeid} failed ({report.when})")
        reporter.write_line(report.longreprtext)


_TERMINAL: dict = {}


def pytest_sessionstart(session):
    _TERMINAL["reporter"] = session.config.pluginmanager.get_plugin("terminalreporter")
