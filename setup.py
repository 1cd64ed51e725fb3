"""Package list for setuptools (metadata lives in pyproject.toml).

cascades/ and resources/ are top-level folders of the repository; they are installed as
reflexng._cascades and reflexng._resources so that `importlib.resources` finds them after a
non-editable install.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["reflexng", "reflexng.*"])
    + ["reflexng._cascades", "reflexng._resources"],
    package_dir={"reflexng._cascades": "cascades", "reflexng._resources": "resources"},
)
