"""The xdist schedule of ``pytest -n N`` (tests/schedule.py), on fake workers.

Every test is sent once; a browser module goes whole to one worker; the long
tests are dealt out, one unit per worker in turn, before any other.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given, seed, settings
from hypothesis import strategies as st

from tests.schedule import FIRST, LongFirst

DOCS = "tests/test_docs_commands.py::test_documented_commands_run"


class Config:
    """The options xdist's schedulers read."""

    def __init__(self, workers: int) -> None:
        self.options: dict[str, Any] = {"tx": [f"{workers}*popen"]}

    def getvalue(self, name: str) -> Any:
        return self.options.get(name)

    getoption = getvalue


class Worker:
    """A worker that records what it is sent and finishes on demand."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.gateway = SimpleNamespace(id=name)
        self.got: list[list[int]] = []
        self.shutting_down = False

    def send_runtest_some(self, indices: list[int]) -> None:
        self.got.append(list(indices))

    def shutdown(self) -> None:
        self.shutting_down = True


def _collection(web: list[int], docs: int, others: int) -> list[str]:
    tests = [f"tests/api/test_a.py::test_{i}" for i in range(others)]
    tests += [f"{DOCS}[doc{i}.md]" for i in range(docs)]
    for m, count in enumerate(web):
        tests += [f"tests/web/test_m{m}.py::test_{i}" for i in range(count)]
    return tests


def _run(collection: list[str], workers: int) -> dict[str, list[list[int]]]:
    """Schedule ``collection``; finish tests until none is left."""
    sched = LongFirst(Config(workers), None)  # type: ignore[arg-type]
    nodes = [Worker(f"gw{i}") for i in range(workers)]
    for node in nodes:
        sched.add_node(node)  # type: ignore[arg-type]
        sched.add_node_collection(node, collection)  # type: ignore[arg-type]
    sched.schedule()
    while sched.pending or any(sched.node2pending.values()):
        for node in nodes:
            queue = sched.node2pending[node]  # type: ignore[index]
            if queue:
                sched.mark_test_complete(node, queue[0])  # type: ignore[arg-type]
    return {node.name: node.got for node in nodes}


@seed(20261207)
@settings(max_examples=40, deadline=None)
@given(
    web=st.lists(st.integers(1, 8), max_size=5),
    docs=st.integers(0, 6),
    others=st.integers(0, 400),
    workers=st.integers(1, 4),
)
def test_every_test_once_and_each_browser_module_on_one_worker(
    web: list[int], docs: int, others: int, workers: int
) -> None:
    collection = _collection(web, docs, others)
    sent = _run(collection, workers)
    every = [i for batches in sent.values() for batch in batches for i in batch]
    assert sorted(every) == list(range(len(collection)))
    for m in range(len(web)):
        module = f"tests/web/test_m{m}.py::"
        holders = {
            name
            for name, batches in sent.items()
            for batch in batches
            if any(collection[i].startswith(module) for i in batch)
        }
        assert len(holders) == 1, f"{module} went to {holders}"


def test_the_long_tests_are_dealt_out_first() -> None:
    collection = _collection([4, 3, 2], docs=3, others=300)
    sent = _run(collection, workers=3)
    first_batches = [batches[0] for batches in sent.values()]
    # Each worker's first batch is a unit of the long tests: a document's
    # commands or a whole browser module.
    for batch in first_batches:
        assert all(collection[i].startswith(FIRST) for i in batch)
    assert sorted(len(b) for b in first_batches) == [1, 1, 1]
    # The browser modules, whole, come right after: in turn, before the rest.
    seconds = [batches[1] for batches in sent.values()]
    assert sorted(len(b) for b in seconds) == [2, 3, 4]
