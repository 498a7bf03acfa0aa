"""History files and the forecast of the stored operation (scenarios.history)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from routing.locale import Locale
from scenarios.history import (
    MAX_PROBLEMS,
    NO_ZONE,
    DemandHistory,
    HistoryInvalid,
    demand_history,
    history_format,
    read_history,
)
from scenarios.run import (
    DepotDay,
    ForecastSpec,
    forecast_demand,
    stored_earliest_from,
)
from tests.helpers import ROOT
from tests.history_data import (
    DEPOTS,
    FIRST_DAY,
    HEADER,
    as_csv,
    as_jsonl,
    history_csv,
    history_rows,
)

SEOUL = ZoneInfo("Asia/Seoul")


def _frame(text: str) -> pd.DataFrame:
    orders = read_history(text, "csv", SEOUL)
    return pd.DataFrame([o.model_dump() for o in orders])


@pytest.fixture(scope="module")
def history() -> DemandHistory:
    """70 days of two zones at two stored depots (about 700 orders)."""
    return demand_history(_frame(history_csv(70, seed=3)), SEOUL, DEPOTS)


def test_csv_and_json_lines_read_the_same_orders() -> None:
    """One history as CSV and as JSON lines gives equal orders; naive times
    are read in the timezone given."""
    rows = history_rows(5, seed=1)
    from_csv = read_history(as_csv(rows), "csv", SEOUL)
    from_jsonl = read_history(as_jsonl(rows), "jsonl", SEOUL)
    assert from_csv == from_jsonl and len(from_csv) == len(rows)
    first = from_csv[0]
    assert first.created_at.utcoffset() == dt.timedelta(hours=9)
    assert first.created_at == dt.datetime.fromisoformat(rows[0]["created_at"]).replace(
        tzinfo=SEOUL
    )
    assert all(o.delivered_at is None for o in from_csv if o.outcome == "failed")


def test_every_bad_row_is_named_and_nothing_is_returned() -> None:
    """Each bad line is reported with its line and field; an exact repeat is
    dropped, a repeat with other values is a problem."""
    good = history_rows(2, seed=2)
    text = as_csv(good)
    first = text.splitlines()[1]
    bad = [
        "b1,2025-13-01T10:00,,Mapo-gu,,,,,delivered",  # line n+2: created_at
        "b2,2025-01-02T10:00,,,,,,,failed",  # no zone nor location
        "b3,2025-01-02T10:00,,Mapo-gu,91,127,,,failed",  # lat out of range
        "b4,2025-01-02T10:00,,Mapo-gu,,,,,lost",  # outcome
        "b5,2025-01-02T10:00,,Mapo-gu,,,,,delivered",  # delivered without a time
        "b6,2025-01-02T10:00,2025-01-01T10:00,Mapo-gu,,,,,returned",  # before
        first,  # an exact repeat: fine
        first.replace("delivered", "failed").replace(first.split(",")[2], ""),
    ]
    with pytest.raises(HistoryInvalid) as info:
        read_history(text + "\n".join(bad) + "\n", "csv", SEOUL)
    n = len(good) + 2  # the first bad line
    got = {(p.line, p.field) for p in info.value.problems}
    assert got == {
        (n, "created_at"),
        (n + 1, "zone"),
        (n + 2, "lat"),
        (n + 3, "outcome"),
        (n + 4, "delivered_at"),
        (n + 5, "delivered_at"),
        (n + 7, "order_id"),
    }
    assert info.value.bad_rows == 7
    assert f"line {n}, field created_at:" in str(info.value)
    assert "nothing imported" in str(info.value)


def test_bad_header_json_and_too_many_problems() -> None:
    """Header, JSON and count problems are reported, not raised as tracebacks."""
    with pytest.raises(HistoryInvalid, match="line 1, field colour: unknown column"):
        read_history(HEADER + ",colour\n", "csv", SEOUL)
    with pytest.raises(HistoryInvalid, match="line 1, field outcome: missing column"):
        read_history("order_id,created_at,zone\n", "csv", SEOUL)
    with pytest.raises(HistoryInvalid, match="line 2, field row: not JSON"):
        read_history('{"order_id": "a"}\n{oops\n', "jsonl", SEOUL)
    with pytest.raises(HistoryInvalid, match="no orders in the file"):
        read_history(HEADER + "\n", "csv", SEOUL)
    lines = [f"x{i},nope,,Mapo-gu,,,,,failed" for i in range(MAX_PROBLEMS + 5)]
    with pytest.raises(HistoryInvalid) as info:
        read_history(HEADER + "\n" + "\n".join(lines), "csv", SEOUL)
    assert len(info.value.problems) == MAX_PROBLEMS
    assert info.value.bad_rows == MAX_PROBLEMS + 5
    assert str(info.value).endswith("and 5 more problems")


def test_format_by_extension_or_choice() -> None:
    """The format comes from the option, else the name; unknown names refuse."""
    assert history_format("past.CSV") == "csv"
    assert history_format("past.jsonl.gz") == "jsonl"
    assert history_format("past.txt", "jsonl") == "jsonl"
    with pytest.raises(ValueError, match="cannot tell the format"):
        history_format("past.txt")


def test_daily_counts_are_dense_and_local(history: DemandHistory) -> None:
    """Orders per zone by local creation day (every day, 0 included) add up
    to the file; deliveries per depot start after the warm-up week."""
    rows = history_rows(70, seed=3)
    assert sum(sum(s.counts) for s in history.zones) == len(rows)
    assert history.first == FIRST_DAY
    assert history.last == FIRST_DAY + dt.timedelta(days=69)
    assert all(
        len(s.counts) == (history.last - s.first).days + 1 for s in history.zones
    )
    assert {s.name for s in history.depots} == {d.id for d in DEPOTS}
    assert min(s.first for s in history.depots) >= FIRST_DAY + dt.timedelta(days=7)
    assert {s.depot.id for s in history.sites} == {d.id for d in DEPOTS}
    assert all(len(s.stops) > 0 for s in history.sites) and history.unsized is None
    # Orders per depot by the day placed, and each zone's split over depots.
    with_depot = [r for r in rows if r.get("depot")]
    assert sum(sum(s.counts) for s in history.intake) == len(with_depot)
    shares = history.shares().groupby("zone")["share"].sum()
    assert np.allclose(shares.to_numpy(), 1.0)


def test_a_stored_closure_carries_the_orders_of_its_days(
    history: DemandHistory,
) -> None:
    """A two-day closure in the horizon: zero deliveries on it, and the
    first open day carries the orders forecast for its days."""
    from forecasting.calendar import CalendarEntry
    from scenarios.history import OwnCalendar

    start = FIRST_DAY + dt.timedelta(days=63)
    shut = CalendarEntry(
        start=start + dt.timedelta(days=2),
        end=start + dt.timedelta(days=3),
        name="depot move",
        kind="closure",
    )
    closed = history.model_copy(update={"calendar": OwnCalendar(entries=(shut,))})
    spec = ForecastSpec.model_validate(
        {"history": closed, "horizon": 7, "from": start.isoformat(), "time_limit": 0.1}
    )
    result = forecast_demand(spec)
    plain = forecast_demand(spec.model_copy(update={"history": history}))

    def per_day(depots: tuple[DepotDay, ...]) -> dict[dt.date, float]:
        out: dict[dt.date, float] = {}
        for d in depots:
            out[d.day] = out.get(d.day, 0.0) + d.orders
        return out

    by_day, open_all = per_day(result.depots), per_day(plain.depots)
    assert by_day[shut.start] == by_day[shut.end] == 0.0
    # No closure in the history: everything taken on the closed days is
    # carried, on top of the first open day's own deliveries.
    taken = sum(z.orders for z in result.zones if shut.start <= z.day <= shut.end)
    first_open = shut.end + dt.timedelta(days=1)
    assert by_day[first_open] == pytest.approx(open_all[first_open] + taken, abs=0.5)
    assert by_day[first_open] != pytest.approx(3 * open_all[first_open], rel=0.02)
    # The answer says which deliveries are the carried ones.
    carried = sum(d.carried for d in result.depots if d.day == first_open)
    assert carried == pytest.approx(taken, abs=0.5)
    assert all(d.carried == 0 for d in result.depots if d.day != first_open)


def test_an_order_after_local_midnight_counts_on_the_local_day() -> None:
    """23:30 UTC is the next morning in Seoul; a zone-less order is counted apart."""
    text = (
        HEADER + "\n"
        "a,2025-03-01T23:30:00Z,,Mapo-gu,,,,,failed\n"
        "b,2025-03-02T10:00:00+09:00,,,37.5,127.0,,,cancelled\n"
    )
    counted = demand_history(_frame(text), SEOUL, [])
    by_zone = {s.name: (s.first, s.counts) for s in counted.zones}
    assert by_zone == {
        "Mapo-gu": (dt.date(2025, 3, 2), (1,)),
        NO_ZONE: (dt.date(2025, 3, 2), (1,)),
    }
    assert counted.unsized is not None and "no depots" in counted.unsized


def test_stored_forecast_from_a_start_with_a_sized_fleet(
    history: DemandHistory,
) -> None:
    """Seven days from a start inside the history: every zone and depot-day,
    intervals around the point, vans for the stored depots."""
    start = FIRST_DAY + dt.timedelta(days=63)
    spec = ForecastSpec.model_validate(
        {"history": history, "horizon": 7, "from": start.isoformat(), "time_limit": 0.1}
    )
    result = forecast_demand(spec)
    assert result.source == "stored" and result.start == start
    assert {z.zone for z in result.zones} == {"Mapo-gu", "Gangnam-gu"}
    assert {z.day for z in result.zones} == {
        start + dt.timedelta(days=k) for k in range(7)
    }
    assert all(z.lo <= z.orders <= z.hi for z in result.zones)
    assert len(result.depots) == len(result.fleet) == 2 * 7
    assert result.unsized == () and result.notes == ()
    for row in result.fleet:
        assert (row.vans + row.night_vans > 0) == (row.orders > 0)


def test_horizon_90_is_accepted_and_91_refused(history: DemandHistory) -> None:
    """Up to 90 days; the start needs history before it (named in the error)."""
    first = stored_earliest_from(history, 90)
    assert first == FIRST_DAY + dt.timedelta(days=7 + 28 + 2 * 90)
    after = history.last + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as info:
        ForecastSpec.model_validate({"history": history, "horizon": 90, "from": after})
    assert info.value.errors()[0]["loc"] == ("from",)
    assert "too little history" in str(info.value)
    with pytest.raises(ValidationError) as info:
        ForecastSpec.model_validate({"history": history, "horizon": 91})
    assert info.value.errors()[0]["loc"] == ("horizon",)
    long = demand_history(
        _frame(history_csv(first.toordinal() - FIRST_DAY.toordinal(), seed=4)),
        SEOUL,
        [],
    )
    spec = ForecastSpec.model_validate({"history": long, "horizon": 90})
    assert spec.start == first
    result = forecast_demand(spec)
    assert len({z.day for z in result.zones}) == 90
    assert result.fleet == () and result.unsized[0].depot is None


def test_stored_start_bounds_and_zones(history: DemandHistory) -> None:
    """A start too far after the history, or an unknown zone, is refused by field."""
    late = history.last + dt.timedelta(days=40)
    with pytest.raises(ValidationError, match="import newer orders"):
        ForecastSpec.model_validate({"history": history, "horizon": 7, "from": late})
    with pytest.raises(ValidationError) as info:
        ForecastSpec.model_validate(
            {"history": history, "horizon": 7, "zones": ["Atlantis"]}
        )
    assert info.value.errors()[0]["loc"] == ("zones",)
    assert "Mapo-gu" in str(info.value)


def test_docs_example_is_the_generator_output() -> None:
    """docs/examples/history.csv is history_csv(days=56, seed=7)."""
    shipped = (ROOT / "docs" / "examples" / "history.csv").read_text()
    assert shipped == history_csv(56, seed=7)


def test_stored_calendar_follows_the_country_scope_and_mode() -> None:
    """The stored forecast's calendar: the deployment country's public holidays
    (merged or replaced by the operation's own), entries reaching only the
    series they are scoped to."""
    from datetime import date

    from forecasting.calendar import CalendarEntry
    from scenarios.forecast_report import stored_exog
    from scenarios.history import OwnCalendar

    sale = CalendarEntry(
        start=date(2025, 12, 1), end=date(2025, 12, 3), name="sale", kind="promotion"
    )
    fair = CalendarEntry(
        start=date(2025, 12, 2), name="fair", kind="event", scope="store-1"
    )
    own = OwnCalendar(
        entries=(sale, fair), locale=Locale(country="DE", subdivision="NW")
    )
    ids = ["store-1", "store-2"]
    merged = stored_exog(ids, date(2025, 11, 28), date(2025, 12, 27), own)
    day = merged.set_index(["unique_id", "ds"])
    christmas = day.xs(pd.Timestamp("2025-12-25"), level="ds")
    assert (christmas["cal_holiday"] == 1).all()
    promo = day.xs(pd.Timestamp("2025-12-02"), level="ds")["cal_promo_sale"]
    assert (promo == 1).all()
    fair_day = day.xs(pd.Timestamp("2025-12-02"), level="ds")["cal_to_fair"]
    assert fair_day["store-1"] == 0 and fair_day["store-2"] > 0

    replaced = stored_exog(
        ids,
        date(2025, 11, 28),
        date(2025, 12, 27),
        own.model_copy(update={"public_holidays": "replace"}),
    )
    assert replaced["cal_holiday"].sum() == 0
