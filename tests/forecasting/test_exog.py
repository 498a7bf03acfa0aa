"""Calendar features: generic numeric cal_ columns, per day and per series."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st

from forecasting.calendar import (
    DEFAULT_EVENTS,
    CalendarEntry,
    EntryKind,
    Promotion,
    PromotionType,
    RetailCalendar,
)
from forecasting.exog import (
    AFTER_PREFIX,
    CLOSURE_COLUMN,
    HOLIDAY_COLUMN,
    TO_PREFIX,
    after_column,
    calendar_features,
    on_event,
    promotion_column,
    series_calendar_features,
    slug,
    to_column,
)
from forecasting.features import CALENDAR, FeatureSpec


@pytest.fixture(scope="module")
def calendar() -> RetailCalendar:
    """The default (Korean) retail calendar for 2023-2026."""
    return RetailCalendar(range(2023, 2027))


@pytest.fixture(scope="module")
def features(calendar: RetailCalendar) -> pd.DataFrame:
    """Its features over 2024-2025."""
    return calendar_features(date(2024, 1, 1), date(2025, 12, 31), calendar)


def _entry(start: date, name: str, kind: EntryKind, **more: object) -> CalendarEntry:
    return CalendarEntry.model_validate(
        {"start": start, "name": name, "kind": kind, **more}
    )


def test_features_are_one_numeric_row_per_day(features: pd.DataFrame) -> None:
    """Every day once, in order; every other column numeric and prefixed cal_."""
    assert len(features) == 731
    assert features["ds"].dtype == np.dtype("datetime64[ns]")
    assert features["ds"].diff().dropna().eq(pd.Timedelta(days=1)).all()
    rest = features.drop(columns="ds")
    assert all(c.startswith("cal_") for c in rest.columns)
    assert all(pd.api.types.is_numeric_dtype(t) for t in rest.dtypes)
    assert not set(rest.columns) & set(CALENDAR)
    for name in DEFAULT_EVENTS:
        assert to_column(name) in features and after_column(name) in features
    assert not features.filter(like="cal_promo_").columns.size


@pytest.mark.parametrize(
    ("day", "column", "value"),
    [
        (date(2024, 2, 10), HOLIDAY_COLUMN, True),
        (date(2024, 2, 10), CLOSURE_COLUMN, True),
        (date(2024, 3, 12), HOLIDAY_COLUMN, False),
        (date(2024, 2, 1), "cal_to_korean_new_year", 9),
        (date(2024, 2, 10), "cal_to_korean_new_year", 0),
        (date(2024, 2, 10), "cal_after_korean_new_year", 0),
        (date(2024, 2, 11), "cal_after_korean_new_year", 1),
        (date(2024, 6, 1), "cal_to_korean_new_year", 14),
        (date(2025, 1, 20), "cal_to_seollal_holidays", 5),
        (date(2024, 11, 29), "cal_to_black_friday", 0),
        (date(2024, 11, 20), "cal_after_korea_sale_festa", 5),
        (date(2024, 11, 10), "cal_to_korea_sale_festa", 0),
    ],
)
def test_feature_values(
    features: pd.DataFrame, day: date, column: str, value: object
) -> None:
    """Flags and capped countdowns hold the calendar's facts for their day."""
    row = features.loc[features["ds"] == pd.Timestamp(day)].iloc[0]
    assert row[column] == value


def test_promotion_intensities_add_up_per_name() -> None:
    """Overlapping promotions of one name add their intensities."""
    promos = [
        Promotion(
            start=date(2024, 3, 1),
            end=date(2024, 3, 10),
            type=PromotionType.SEASONAL,
            intensity=1.0,
        ),
        Promotion(
            start=date(2024, 3, 8),
            end=date(2024, 3, 12),
            type=PromotionType.SEASONAL,
            intensity=0.5,
        ),
        _entry(
            date(2024, 2, 1),
            "sign_up",
            EntryKind.PROMOTION,
            end=date(2024, 3, 2),
            intensity=0.7,
        ),
    ]
    features = calendar_features(date(2024, 3, 1), date(2024, 3, 31), promotions=promos)
    expected = np.zeros(31)
    expected[0:10] += 1.0
    expected[7:12] += 0.5
    seasonal = features[promotion_column(PromotionType.SEASONAL)].to_numpy()
    np.testing.assert_allclose(seasonal, expected)
    sign_up = features["cal_promo_sign_up"].to_numpy()
    np.testing.assert_allclose(sign_up[:3], [0.7, 0.7, 0])


def test_a_generic_calendar_has_only_its_own_columns() -> None:
    """A user's replace-mode calendar: no Korean event, no day of week, no text."""
    own = [
        _entry(date(2024, 12, 24), "Christmas Eve", EntryKind.HOLIDAY),
        _entry(date(2024, 11, 29), "Black Friday", EntryKind.EVENT),
        _entry(date(2024, 8, 1), "stock take", EntryKind.CLOSURE),
        _entry(
            date(2024, 3, 1),
            "coupon",
            EntryKind.PROMOTION,
            end=date(2024, 3, 3),
            intensity=2.0,
        ),
    ]
    cal = RetailCalendar([2024], country="DE", entries=own, public_holidays="replace")
    features = calendar_features(date(2024, 1, 1), date(2024, 12, 31), cal)
    assert list(features.columns) == [
        "ds",
        HOLIDAY_COLUMN,
        CLOSURE_COLUMN,
        "cal_to_black_friday",
        "cal_after_black_friday",
        "cal_to_christmas_eve",
        "cal_after_christmas_eve",
        "cal_promo_coupon",
    ]
    assert features[HOLIDAY_COLUMN].sum() == 1 and features[CLOSURE_COLUMN].sum() == 1
    assert features["cal_promo_coupon"].sum() == pytest.approx(6.0)


def test_names_become_ascii_slugs() -> None:
    """Punctuation and accents go; other scripts keep distinct hashed slugs."""
    entry = _entry(date(2024, 6, 1), "Store Anniversary!", EntryKind.EVENT)
    cal = RetailCalendar([2024], entries=[entry])
    features = calendar_features(date(2024, 5, 30), date(2024, 6, 2), cal)
    assert on_event(features, "Store Anniversary!").tolist() == [0, 0, 1, 0]
    assert to_column("Store Anniversary!") == "cal_to_store_anniversary"
    assert slug("Fête des Mères") == "fete_des_meres"
    korean = {slug(n) for n in ("설날", "추석", "단오")}
    assert len(korean) == 3 and all(s.isascii() and s.isidentifier() for s in korean)


def test_features_need_a_covering_calendar() -> None:
    """A calendar missing a year of the range is an error."""
    with pytest.raises(ValueError, match="needs \\[2025\\]"):
        calendar_features(date(2024, 12, 1), date(2025, 1, 31), RetailCalendar([2024]))


def test_features_reject_a_reversed_range_and_a_bad_cap() -> None:
    """The end of the range must not be before its start; the cap is >= 1."""
    with pytest.raises(ValueError, match="before start"):
        calendar_features(date(2024, 2, 1), date(2024, 1, 1))
    with pytest.raises(ValueError, match="cap must be >= 1"):
        calendar_features(date(2024, 1, 1), date(2024, 1, 2), cap=0)


def test_the_models_value_only_prefixes_are_the_countdowns() -> None:
    """FeatureSpec enters exactly the countdown columns by value only."""
    assert FeatureSpec().value_only == (TO_PREFIX, AFTER_PREFIX)


@seed(5)
@settings(max_examples=40, deadline=None)
@given(
    spans=st.lists(
        st.tuples(st.integers(0, 150), st.integers(0, 6), st.sampled_from("ab")),
        min_size=1,
        max_size=6,
    ),
    cap=st.integers(1, 30),
)
def test_countdowns_match_a_day_by_day_count(
    spans: list[tuple[int, int, str]], cap: int
) -> None:
    """cal_to/cal_after equal the capped distance to the nearest day of the name."""
    first = date(2024, 1, 1)
    entries = [
        _entry(
            first + timedelta(days=o), n, EntryKind.EVENT, end=first + timedelta(o + k)
        )
        for o, k, n in spans
    ]
    cal = RetailCalendar([2024], entries=entries, public_holidays="replace")
    features = calendar_features(first, date(2024, 6, 30), cal, cap=cap)
    days = [first + timedelta(days=i) for i in range(len(features))]
    for name in {n for _, _, n in spans}:
        on = {d for e in entries if e.name == name for d in e.each_day()}
        to = [min([(o - d).days for o in on if o >= d] + [cap]) for d in days]
        after = [min([(d - o).days for o in on if o <= d] + [cap]) for d in days]
        assert features[to_column(name)].tolist() == to
        assert features[after_column(name)].tolist() == after
        assert (features[to_column(name)] == 0).tolist() == [d in on for d in days]


def test_scoped_entries_reach_only_their_series() -> None:
    """A zone's festival and a region's holiday change only their series' rows."""
    own = [
        _entry(date(2024, 6, 3), "fair", EntryKind.EVENT, scope="Mapo-gu"),
        _entry(date(2024, 6, 4), "Dano", EntryKind.HOLIDAY, scope="east"),
        _entry(date(2024, 6, 5), "hub works", EntryKind.CLOSURE, scope="east"),
    ]
    cal = RetailCalendar([2024], entries=own, public_holidays="replace")
    series = {"Mapo-gu": (), "Gangnam-gu": ("east",), "Jongno-gu": ()}
    frame = series_calendar_features(series, date(2024, 6, 1), date(2024, 6, 7), cal)
    by = {uid: g.set_index("ds") for uid, g in frame.groupby("unique_id")}
    june = pd.Timestamp(2024, 6, 1)
    assert (by["Mapo-gu"]["cal_to_fair"] == 0).tolist() == [False, False, True] + [
        False
    ] * 4
    assert (by["Gangnam-gu"]["cal_to_fair"] == 14).all()
    assert by["Gangnam-gu"][HOLIDAY_COLUMN].sum() == 1
    assert by["Gangnam-gu"].loc[june + pd.Timedelta(days=4), CLOSURE_COLUMN]
    for uid in ("Mapo-gu", "Jongno-gu"):
        assert by[uid][HOLIDAY_COLUMN].sum() == 0 and not by[uid][CLOSURE_COLUMN].any()
        assert (by[uid]["cal_to_dano"] == 14).all()
    assert (by["Jongno-gu"]["cal_to_fair"] == 14).all()
    assert len(frame) == 3 * 7 and frame["unique_id"].is_monotonic_increasing


def test_each_series_may_have_its_own_subdivision() -> None:
    """Bavarian stores get Epiphany, stores in Berlin do not."""
    bavaria = RetailCalendar([2024], country="DE", subdivision="BY")
    berlin = RetailCalendar([2024], country="DE", subdivision="BE")
    calendars = {"munich": bavaria, "berlin": berlin}
    frame = series_calendar_features(
        ["munich", "berlin"], date(2024, 1, 5), date(2024, 1, 8), calendars
    )
    epiphany = frame[frame["ds"] == pd.Timestamp(2024, 1, 6)].set_index("unique_id")
    assert epiphany.loc["munich", HOLIDAY_COLUMN]
    assert not epiphany.loc["berlin", HOLIDAY_COLUMN]
    assert epiphany.loc["berlin", "cal_to_epiphany"] == 14
    with pytest.raises(ValueError, match="series 'hamburg' has no calendar"):
        series_calendar_features(
            ["hamburg"], date(2024, 1, 5), date(2024, 1, 8), calendars
        )
