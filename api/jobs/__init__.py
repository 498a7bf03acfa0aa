"""Background jobs: typed payloads, the registry of kinds, the queue, the runner.

* :mod:`api.jobs.payloads`: one pydantic payload (and result) model per kind;
* :mod:`api.jobs.handlers`: the pure functions that do the work;
* :mod:`api.jobs.kinds`: :class:`~api.jobs.kinds.JobKind` and the registry
  (:func:`~api.jobs.kinds.default_kinds`, the one place kinds are listed);
* :mod:`api.jobs.queue`: submitting a job and reading it back;
* :mod:`api.jobs.runner`: the :class:`~api.jobs.runner.JobRunner`.
"""
