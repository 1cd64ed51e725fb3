"""What the data organiser produces (the contract the engine and the GUI read).

Qt-free plain data. The organiser may add fields; it must not rename these.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reflexng.organiser.record_fields import RECORD_FIELDS

# file statuses
OK = "ok"
UNCLASSIFIED = "unclassified"
UNREADABLE = "unreadable"
AMBIGUOUS = "ambiguous"
DUPLICATE = "duplicate"


class FileRecord(namedtuple("_FileRecordFields", RECORD_FIELDS)):
    """One scanned file and what classification made of it.

    ``headers`` holds only the keywords the cascade needs, keyed by cascade keyword names
    (``DPR.TYPE``, ``MJD-OBS``). ``category`` is the tag the file carries into a recipe;
    ``data_source`` the name of the data source whose rule matched.

    Fields (in order; all but the first four have defaults): path, size, mtime_ns,
    status, category, data_source, reason, headers, mjd, processed (carries ESO PRO CATG:
    a product of an earlier reduction), duplicate_of; added by the organiser (issue 3):
    header_digest (the scanner's digest of the header: duplicate detection, dataset ids),
    data_sources (every data source whose rule gave this category), excluded (by the user:
    never associated).

    Immutable, and a tuple underneath (a named tuple with no instance dictionary: a
    300,000-file organise keeps one record per file, and a record costs a third of an
    object with a dictionary). Read it by field names; ``_replace`` makes a changed copy.
    """

    __slots__ = ()

    def __new__(cls, path: str, size: int, mtime_ns: int, status: str,
                category: str | None = None, data_source: str | None = None, reason: str = "",
                headers: Mapping[str, Any] | None = None, mjd: float | None = None,
                processed: bool = False, duplicate_of: str | None = None,
                header_digest: str = "", data_sources: tuple[str, ...] = (),
                excluded: bool = False):
        return _tuple_new(cls, (path, size, mtime_ns, status, category, data_source, reason,
                                {} if headers is None else headers, mjd, processed,
                                duplicate_of, header_digest, data_sources, excluded))


_tuple_new = tuple.__new__


class Candidate(namedtuple("_CandidateFields", ("path", "job_id", "level", "dt_days", "reason"),
                           defaults=(None, None, None, None, ""))):
    """A file (``path``) or an upstream job (``job_id``) considered for an associated input:
    path, job_id, level, dt_days, reason (for rejected candidates: the rule and keyword that
    failed). Immutable, a named tuple (as :class:`FileRecord`)."""

    __slots__ = ()


class Association(namedtuple("_AssociationFields", (
        "input", "kind", "chosen", "rejected", "complete", "missing", "optional",
        "skipped_reason", "used", "note", "categories"),
        defaults=((), (), True, "", False, "", "", "", ()))):
    """The outcome of one associated input of one job, with its explanation.

    Fields: input (name of the data source or task), kind ("data_source" or "task"),
    chosen (candidates), rejected (a few nearest rejected candidates, with why), complete,
    missing (in words, when incomplete), optional, skipped_reason (condition false: the
    input is not needed for this job); added by the organiser (issue 3): used ("raw": files
    or upstream jobs, or "processed": products of earlier reductions carrying PRO.CATG),
    note (why processed was used); added for EDPS workflows (issue 18): categories (only
    products/files of these categories; () = all). Immutable, a named tuple (as
    :class:`FileRecord`).
    """

    __slots__ = ()


class Job(namedtuple("_JobFields", (
        "id", "task", "recipe", "main", "main_jobs", "associated", "depends_on", "parameters",
        "grouping", "mjd", "complete", "missing", "name", "reference_path",
        "job_parameters"))):
    """One execution of a task on one group of files.

    ``main`` are the main input files (absolute paths); when the main input is a task,
    ``main_jobs`` are the upstream job ids whose products are the main input.
    ``depends_on`` lists every upstream job id (main and associated).
    ``parameters`` are the cascade-level recipe parameters already resolved for this job
    (cascade < parameter set < user override; dynamic parameters evaluated; workflow
    parameters substituted). Recipe defaults are applied by the engine. Added by the
    organiser (issue 3): ``name`` (first main file and grouping values, for display),
    ``reference_path`` (the main file whose header and time rule matching used); for EDPS
    workflows (issue 18): ``job_parameters`` (EDPS dynamic parameters) seen by conditions,
    never passed to the recipe. Immutable, a named tuple (as :class:`FileRecord`).
    """

    __slots__ = ()

    def __new__(cls, id: str, task: str, recipe: str, main: tuple[str, ...] = (),
                main_jobs: tuple[str, ...] = (),
                associated: Mapping[str, Association] | None = None,
                depends_on: tuple[str, ...] = (), parameters: Mapping[str, Any] | None = None,
                grouping: Mapping[str, Any] | None = None, mjd: float | None = None,
                complete: bool = True, missing: tuple[str, ...] = (), name: str = "",
                reference_path: str | None = None,
                job_parameters: Mapping[str, Any] | None = None):
        return _tuple_new(cls, (id, task, recipe, main, main_jobs,
                                {} if associated is None else associated, depends_on,
                                {} if parameters is None else parameters,
                                {} if grouping is None else grouping, mjd, complete, missing,
                                name, reference_path,
                                {} if job_parameters is None else job_parameters))

    def input_files(self) -> list[tuple[str, str, str]]:
        """Raw/static input files as (path, category placeholder role, input name).

        Products of upstream jobs are only known at run time (see ``depends_on``).
        """
        out = [(p, "main", self.task) for p in self.main]
        for a in self.associated.values():
            out.extend((c.path, "associated", a.input) for c in a.chosen if c.path)
        return out


class Associations(Mapping):
    """A job's associations (``Job.associated``: input name -> :class:`Association`), some
    of them made when first looked at.

    The organiser chooses every input when it plans a job, but most jobs' associations are
    never looked at in a session (the dataset tree shows one job at a time): a value may be a
    pending choice (anything with a ``build()`` method giving the Association), and the
    first look at the mapping builds them all, in their order. Reads like the ``dict`` it
    stands for (compares equal to it, pickles and copies as it).
    """

    __slots__ = ("_d", "_pending")

    def __init__(self, d: dict[str, Any]) -> None:
        self._d = d
        self._pending = True

    def _all(self) -> dict[str, Association]:
        d = self._d
        if self._pending:
            for k, v in d.items():  # values replaced in place: the order is kept
                if v.__class__ is not Association:
                    d[k] = v.build()
            self._pending = False
        return d

    def __getitem__(self, key: str) -> Association:
        return self._all()[key]

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key: object) -> bool:
        return key in self._d

    def keys(self):
        return self._d.keys()

    def items(self):
        return self._all().items()

    def values(self):
        return self._all().values()

    def get(self, key: str, default: Any = None) -> Any:
        return self._all().get(key, default)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Associations):
            other = other._all()
        return self._all() == other if isinstance(other, Mapping) else NotImplemented

    __hash__ = None  # type: ignore[assignment]  # as a dict

    def __repr__(self) -> str:
        return repr(self._all())

    def __reduce__(self):  # pickles (and copies) as the dict it stands for
        return (dict, (self._all(),))


@dataclass(frozen=True)
class Dataset:
    """One target job plus every job it needs, recursively.

    ``jobs`` is in execution order (upstream first; the target job last).
    """

    id: str
    name: str
    target: str
    target_job: str
    jobs: tuple[str, ...]
    complete: bool
    missing: tuple[str, ...] = ()


@dataclass
class OrganiseResult:
    """Everything the organiser found. ``job_graph`` is a networkx DiGraph (upstream -> downstream)."""

    cascade_name: str
    target: str
    files: list[FileRecord]
    jobs: dict[str, Job]
    datasets: list[Dataset]
    job_graph: Any = None
    workflow_parameters: dict[str, Any] = field(default_factory=dict)
    # added by the organiser (issue 3): things worth saying that belong to no file or job
    # (e.g. "no RAW_SCIENCE files for target science"), and the targets organised
    notes: list[str] = field(default_factory=list)
    targets: tuple[str, ...] = ()

    def file(self, path: str) -> FileRecord | None:
        index = self.__dict__.get("_file_index")
        if index is None or len(index) != len(self.files):
            index = {f.path: f for f in self.files}
            self.__dict__["_file_index"] = index
        return index.get(path)

    def dataset(self, dataset_id: str) -> Dataset | None:
        for d in self.datasets:
            if d.id == dataset_id:
                return d
        return None
