"""How ``pytest -n N`` shares the tests among its workers.

xdist's ``load`` sends each worker runs of consecutive tests, big at first and
two at a time at the end. The collection ends with the browser tests and the
documented commands, the longest of all (5 to 80 s each): sent last, two at a
time, they left one worker running for a minute while the others were done,
and each browser module started its server and Chromium again on every worker
that got some of its tests. :class:`LongFirst` is ``load`` with two changes:

* the tests of :data:`FIRST` are dealt out before any other, one unit at a
  time to each worker in turn;
* a module of :data:`WHOLE` goes to one worker, all of it at once, so that its
  module fixtures are made once.

Both are picked by node id: the controller that schedules sees no markers.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import cycle

from xdist.scheduler import LoadScheduling
from xdist.workermanage import WorkerController

__all__ = ["FIRST", "WHOLE", "LongFirst"]

#: Node id prefixes of the long tests: the browser tests and the documented
#: commands (a whole README walk-through is one test).
FIRST = ("tests/web/", "tests/test_docs_commands.py::test_documented_commands_run")
#: Node id prefixes of modules sent whole: their server and browser are
#: module fixtures (tests/web/conftest.py).
WHOLE = ("tests/web/",)


class LongFirst(LoadScheduling):
    """xdist's ``load``, with the long tests first and :data:`WHOLE` whole."""

    def _module(self, index: int) -> str | None:
        """The module of test ``index`` if it is sent whole, else None."""
        assert self.collection is not None
        nodeid = self.collection[index]
        return nodeid.split("::")[0] if nodeid.startswith(WHOLE) else None

    def _send_tests(self, node: WorkerController, num: int) -> None:
        self._send(node, self.pending[:num])

    def _send(self, node: WorkerController, batch: Sequence[int]) -> None:
        """Send ``batch`` and the rest of every whole module in it."""
        modules = {self._module(i) for i in batch} - {None}
        taken = set(batch)
        taken.update(i for i in self.pending if self._module(i) in modules)
        tests = [i for i in self.pending if i in taken]
        if tests:
            self.pending[:] = [i for i in self.pending if i not in taken]
            self.node2pending[node].extend(tests)
            node.send_runtest_some(tests)

    def schedule(self) -> None:
        """Deal out the long tests, then start as ``load`` does."""
        if self.collection is not None:  # a worker came later: as load
            super().schedule()
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = next(iter(self.node2collection.values()))
        if not self.collection:
            return
        if self.maxschedchunk is None:
            self.maxschedchunk = len(self.collection)
        first = {i for i, n in enumerate(self.collection) if n.startswith(FIRST)}
        everything = range(len(self.collection))
        self.pending[:] = sorted(everything, key=lambda i: i not in first)
        nodes = cycle(self.nodes)
        while self.pending and self.pending[0] in first:
            self._send(next(nodes), self.pending[:1])
        per_node = len(self.collection) // len(self.nodes)
        chunk = max(min(per_node // 4, self.maxschedchunk), 2)
        for node in self.nodes:
            self._send_tests(node, chunk)
        if not self.pending:
            for node in self.nodes:
                node.shutdown()
