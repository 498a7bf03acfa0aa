"""Which engine plans a day: the one rule every caller goes through.

========================  ================  ==============================
requested                 orders            engine
========================  ================  ==============================
``ortools``, ``pyvrp``,   any               as requested
``large``
``auto``, bounded         up to 1,500       ``ortools`` (repeatable)
``auto``, bounded         more              ``large`` (decomposition)
``auto``                  from 1,000        ``large`` (decomposition)
``auto``                  fewer             ``auto`` (the portfolio), or
                                            ``ortools`` without it
========================  ================  ==============================

A search is *bounded* when it stops after a number of iterations
(:attr:`~routing.solver.SolveParams.iterations`): the same problem and seed
then give the same plan on every run, which the portfolio (two processes
racing the clock) does not promise. The decomposition keeps it when bounded:
its parts stop at the iterations and its seams are improved a fixed number
of times (:data:`~routing.solver.decompose.BOUNDED_ROUNDS`), on local
processes or a Dask cluster alike, unless the time limit comes first.
"""

from __future__ import annotations

from routing.solver.params import Engine

#: From this many orders ``auto`` splits the day (:mod:`routing.solver.decompose`):
#: one engine on the whole day would hold ``N x N`` matrices per travel band
#: and converge slowly.
LARGE_ORDERS = 1000
#: Most orders a bounded ``auto`` search plans with OR-Tools on the whole day
#: (a 1,080-order day takes about 50 s for 10 solutions on the reference
#: machine, 2026-12-03); larger days go to the decomposition. OR-Tools alone
#: now has a plan of a 2,000-order day within 4 s (our construction as its
#: start, :mod:`routing.solver.construct`), but its search does not improve
#: it: 3,405 km and 46 vans after 120 s where the decomposition has 2,738 km
#: and 35 vans after 5 s (benchmarks/RESULTS.md, "First solution at 2,000
#: and 5,000 orders", 2026-12-07).
BOUNDED_MAX = 1500


def choose_engine(
    n_orders: int,
    requested: Engine = "auto",
    *,
    bounded: bool = False,
    portfolio: bool = True,
) -> Engine:
    """The engine that plans a day of ``n_orders`` orders.

    Parameters
    ----------
    n_orders
        Jobs and shipments of the day.
    requested
        The caller's engine; only ``"auto"`` is decided here.
    bounded
        Whether the search stops after a number of iterations (repeatable).
    portfolio
        Whether a small ``auto`` day may run the portfolio (PyVRP in a second
        process beside OR-Tools); ``False`` keeps it to OR-Tools alone, for
        callers that share the machine.

    Returns
    -------
    Engine
        ``"ortools"``, ``"pyvrp"``, ``"large"``, or ``"auto"`` for the
        portfolio.
    """
    if requested != "auto":
        return requested
    if bounded and n_orders <= BOUNDED_MAX:
        return "ortools"
    if n_orders >= LARGE_ORDERS:
        return "large"
    return "auto" if portfolio else "ortools"
