"""The forecasting orchestrator: long-format frames in, forecasts out.

:class:`Forecaster` follows statsforecast's ``StatsForecast``: it takes a
history frame ``unique_id, ds, y`` (+ exogenous columns), fits every model,
and returns one column per model alias plus ``<alias>-lo-<level>`` /
``<alias>-hi-<level>`` interval columns. ``cross_validation`` refits at
rolling origins and adds ``cutoff`` and ``y``. It owns everything the
models do not: validation, the dense panel, the fallback model, closed days
and conformal calibration.

Examples
--------
>>> from forecasting.synthetic import generate_panel
>>> df, _ = generate_panel(n_series=3, n_days=120, seed=1)
>>> fc = Forecaster([SeasonalNaive(7)], fallback_model=LogLinear())
>>> history, future = df[df.ds < "2023-04-24"], df[df.ds >= "2023-04-24"]
>>> out = fc.fit(history).predict(7, future.drop(columns="y"), level=[80])
>>> list(out.columns)  # doctest: +NORMALIZE_WHITESPACE
['unique_id', 'ds', 'SeasonalNaive', 'SeasonalNaive-lo-80', 'SeasonalNaive-hi-80',
 'SeasonalNaive-model']
>>> fc.fallbacks_
()
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.conformal import (
    ConformalIntervals,
    check_levels,
    conformal_bounds,
    conformity_scores,
    month_factor,
)
from forecasting.exog import PREFIX, SeriesCalendar
from forecasting.frame import (
    DS,
    ID,
    FrameError,
    Panel,
    Y,
    future_panel,
    to_panel,
    validate_df,
    validate_future,
)
from forecasting.models.base import FloatArray, Model
from forecasting.models.fallback import LogLinear
from forecasting.models.naive import SeasonalNaive

__all__ = [
    "BACKLOG_SUFFIX",
    "LEVEL_DAYS",
    "MODEL_HISTORY_DAYS",
    "MODEL_SUFFIX",
    "SEASONAL_DAYS",
    "Fallback",
    "Forecaster",
    "default_calibration",
    "default_models",
    "history_carry_share",
]

IntArray = npt.NDArray[np.intp]
Predictions = dict[str, dict[str, FloatArray]]


#: Scores with the month of their day and their calibration window (1: the
#: most recent).
class _Scored(NamedTuple):
    values: FloatArray
    months: npt.NDArray[np.intp]
    windows: npt.NDArray[np.intp]


#: Conformity scores of a model by horizon step, and the weekly naive's
#: scores of the year before the cutoff when its months scale the width
#: (``ConformalIntervals.month_scale == "naive"``).
Scores = tuple[npt.NDArray[np.intp], _Scored, _Scored | None]
#: Why the fallback forecast a series, by model alias and series row.
Reasons = dict[str, dict[int, str]]

#: Suffix of the output column naming the model that forecast each row.
MODEL_SUFFIX = "-model"
#: Suffix of the output column holding what a first open day carries.
BACKLOG_SUFFIX = "-backlog"

_DAY = np.timedelta64(1, "D")


@dataclass(frozen=True, slots=True)
class Fallback:
    """A series that a model did not forecast: which model did, and why.

    Attributes
    ----------
    model
        Alias of the model asked for (its output column).
    unique_id
        The series.
    used
        Alias of the fallback model whose forecast fills the column.
    reason
        Why: too little history, or the model's error when it failed to fit
        or predict.
    """

    model: str
    unique_id: str
    used: str
    reason: str


@dataclass
class _Fitted:
    """Models fitted on one panel (the series observed at one cutoff)."""

    panel: Panel
    rows: IntArray  # rows of the full panel these series are
    models: dict[str, tuple[Model | None, IntArray]] = field(default_factory=dict)
    fallback: Model | None = None
    fallback_ids: dict[str, list[str]] = field(default_factory=dict)
    reasons: Reasons = field(default_factory=dict)


@dataclass
class _Run:
    """Forecasts of one cutoff and horizon, for the series observed then."""

    rows: IntArray
    predictions: Predictions
    reasons: Reasons


@dataclass
class _Cache:
    """Fits by cutoff and forecasts by (fit cutoff, cutoff, h, levels)."""

    fits: dict[int, _Fitted] = field(default_factory=dict)
    runs: dict[tuple[int, int, int, tuple[int, ...]], _Run] = field(
        default_factory=dict
    )


class Forecaster:
    """Fit many models on many daily series; forecast, cross-validate.

    Parameters
    ----------
    models
        Models with unique aliases (:class:`~forecasting.models.base.Model`).
    freq
        Only ``"D"`` (daily) is supported.
    fallback_model
        Takes over for series shorter than a model's ``min_history`` and
        for every series when a model fails to fit or predict (with a
        warning). Its forecasts go into the model's own column, and the
        ``<alias>-model`` column and :attr:`fallbacks_` name it, with the
        reason.
    closed_col
        Exogenous 0/1 column flagging closed days: they are forecast as 0
        (interval ``[0, 0]``), left out of training by models that care and
        out of the conformity scores.
    calendar
        Calendar columns the forecaster adds itself, per series
        (:class:`~forecasting.exog.SeriesCalendar`): to the history in
        ``fit`` and ``cross_validation`` and to the future in ``predict``,
        so ``X_df`` needs only the other exogenous columns (or nothing).
    carry_backlog
        The first open day after a block of closed days (``closed_col``)
        delivers what the block would have: it gets, on top of its own
        forecast, the block's forecasts before zeroing (what the days would
        have had open, each at the first open day's own forecast: the
        model's forecasts of the closed days themselves follow the holiday
        features of the block) times the carry share, and its interval
        widens by the same factor as its forecast; carried days stay out of
        the conformity scores. The output gets a ``<alias>-backlog``
        column (the amount carried, 0 elsewhere). Only blocks inside the
        horizon are carried.
        When ``fit`` and ``predict`` are given ``orders`` (the orders each
        series took per day: observed in the history, forecast for the
        horizon), the first open day carries the orders its block's days
        took instead, times the carry share: a holiday on which people
        order less carries less (:func:`history_carry_share`).
    carry_share
        Share of the block's forecast (or of its orders) the first open day
        carries (0..1). Default: estimated from the blocks in the history,
        each block's first-open-day excess over its usual level (the median
        of the same weekday's open days in the four weeks before the block)
        over the usual level of its closed days (or over the orders they
        took; then up to 2); 1.0 when the history holds no block.

    Attributes
    ----------
    fallbacks_
        After ``fit``: the series a model left to the fallback at fitting;
        after ``predict``: also those it failed to predict. A series whose
        forecast is the model's but whose conformal intervals were
        calibrated on windows the fallback forecast is listed too, with a
        reason starting ``intervals:``.
    fallback_ids_
        Series left to the fallback at fitting, by model alias.

    Raises
    ------
    ValueError
        On a duplicate alias, no models or another ``freq``.
    """

    def __init__(
        self,
        models: Sequence[Model],
        freq: str = "D",
        *,
        fallback_model: Model | None = None,
        closed_col: str | None = None,
        calendar: SeriesCalendar | None = None,
        carry_backlog: bool = False,
        carry_share: float | None = None,
    ) -> None:
        if freq != "D":
            raise ValueError(f"freq {freq!r} is not supported: only daily ('D')")
        if not models:
            raise ValueError("give at least one model")
        aliases = [m.alias for m in models]
        duplicated = sorted({a for a in aliases if aliases.count(a) > 1})
        if duplicated:
            raise ValueError(
                f"model aliases must be unique: {duplicated[0]!r} appears twice"
            )
        if carry_backlog and closed_col is None:
            raise ValueError("carry_backlog needs closed_col: the days it carries")
        if carry_share is not None and not 0.0 <= carry_share <= 1.0:
            raise ValueError(f"carry_share must be within 0..1, got {carry_share}")
        self.models = list(models)
        self.freq = freq
        self.carry_backlog = carry_backlog
        self.carry_share = carry_share
        self.fallback_model = fallback_model
        self.closed_col = closed_col
        self.calendar = calendar
        self._panel: Panel | None = None
        self._fitted: _Fitted | None = None
        self._scores: dict[str, Scores] = {}
        self.fallback_ids_: dict[str, list[str]] = {}
        self.fallbacks_: tuple[Fallback, ...] = ()
        self._calibrated_by_fallback: tuple[Fallback, ...] = ()
        self._orders: pd.DataFrame | None = None
        self._orders_share = 1.0

    # ------------------------------------------------------------------ fit

    def _floor(self) -> int:
        """Days of history a series needs to be forecast at all."""
        if self.fallback_model is not None:
            return self.fallback_model.min_history
        return min(m.min_history for m in self.models)

    def _check_history(self, panel: Panel) -> None:
        days = panel.history_days
        floor = self._floor()
        short = np.flatnonzero(days < floor)
        if len(short):
            i = int(short[0])
            hint = (
                ""
                if self.fallback_model is not None
                else " (give a fallback_model for short series)"
            )
            raise FrameError(
                f"df: series '{panel.ids[i]}' has {int(days[i])} days of history, "
                f"at least {floor} are needed{hint}",
                ID,
            )

    def _fit_panel(self, panel: Panel, rows: IntArray) -> _Fitted:
        """Fit every model on the series it can handle; the fallback on the rest."""
        fitted = _Fitted(panel=panel, rows=rows)
        days = panel.history_days
        for model in self.models:
            eligible = np.flatnonzero(days >= model.min_history)
            fitted.models[model.alias] = (None, eligible)
            fitted.reasons[model.alias] = {
                int(i): f"{int(days[i])} days of history, {model.alias} needs "
                f"{model.min_history}"
                for i in np.flatnonzero(days < model.min_history)
            }
            if len(eligible) == 0:
                continue
            try:
                sub = (
                    panel.select(eligible) if len(eligible) < panel.n_series else panel
                )
                fitted.models[model.alias] = (model.new().fit(sub), eligible)
            except Exception as exc:
                if self.fallback_model is None:
                    raise
                reason = f"{model.alias} failed to fit: {_describe(exc)}"
                warnings.warn(
                    f"model {model.alias!r} failed to fit ({exc}); "
                    f"{self.fallback_model.alias} forecasts all series instead",
                    RuntimeWarning,
                    stacklevel=3,
                )
                fitted.models[model.alias] = (None, np.array([], dtype=np.intp))
                fitted.reasons[model.alias].update({int(i): reason for i in eligible})
        if self.fallback_model is not None:
            needed = any(len(idx) < panel.n_series for _, idx in fitted.models.values())
            if needed:
                fitted.fallback = self.fallback_model.new().fit(panel)
        for alias, (_, idx) in fitted.models.items():
            missing = np.setdiff1d(np.arange(panel.n_series), idx)
            fitted.fallback_ids[alias] = [panel.ids[i] for i in missing]
        return fitted

    def _check_horizon(self, h: int) -> None:
        """Refuse a horizon longer than a model was built for (not a fallback case)."""
        if h < 1:
            raise ValueError(f"h must be >= 1, got {h}")
        for model in self.models:
            longest = getattr(model, "horizon", None)
            if isinstance(longest, int) and h > longest:
                raise ValueError(
                    f"h={h} exceeds the horizon {longest} of model {model.alias!r}"
                )

    def _native_levels(self, model: Model, level: Sequence[int]) -> tuple[int, ...]:
        return () if model.prediction_intervals is not None else tuple(level)

    def _own_predictions(
        self,
        model: Model,
        instance: Model | None,
        rows: IntArray,
        h: int,
        X: FloatArray,
        native: Sequence[int],
    ) -> tuple[dict[str, FloatArray] | None, IntArray, str | None]:
        """A fitted model's forecasts of its rows, the rows it covers, and
        why it covers none when it failed to predict.

        A model that fails to predict covers no rows (the fallback takes
        them), unless there is no fallback.
        """
        if instance is None:
            return None, rows, None
        try:
            return instance.predict(h, X[rows], native), rows, None
        except Exception as exc:
            if self.fallback_model is None:
                raise
            warnings.warn(
                f"model {model.alias!r} failed to predict ({exc}); "
                f"{self.fallback_model.alias} forecasts all series instead",
                RuntimeWarning,
                stacklevel=4,
            )
            reason = f"{model.alias} failed to predict: {_describe(exc)}"
            return None, np.array([], dtype=np.intp), reason

    def _predict_panel(
        self,
        fitted: _Fitted,
        h: int,
        X: FloatArray,
        level: Sequence[int],
        orders: FloatArray | None = None,
    ) -> tuple[Predictions, Reasons]:
        """Forecasts of every model (fallback where needed); closed days are 0.

        ``orders``: the orders taken per series and day over the history and
        the horizon (:meth:`_orders_ahead`), for the carried backlog.
        Also returns why the fallback forecast the rows it did, per model.
        """
        panel = fitted.panel
        n = panel.n_series
        fallback_out: dict[str, FloatArray] | None = None

        def fallback() -> dict[str, FloatArray]:
            nonlocal fallback_out
            if fallback_out is None:
                if fitted.fallback is None:
                    assert self.fallback_model is not None
                    fitted.fallback = self.fallback_model.new().fit(panel)
                fallback_out = fitted.fallback.predict(h, X, level)
            return fallback_out

        out: Predictions = {}
        reasons: Reasons = {}
        for model in self.models:
            native = self._native_levels(model, level)
            keys = ["mean"] + [f"{s}-{lv}" for lv in native for s in ("lo", "hi")]
            result = {key: np.full((n, h), np.nan) for key in keys}
            instance, rows = fitted.models[model.alias]
            pred, rows, failed = self._own_predictions(
                model, instance, rows, h, X, native
            )
            reasons[model.alias] = dict(fitted.reasons.get(model.alias, {}))
            if failed is not None:
                reasons[model.alias].update(dict.fromkeys(range(n), failed))
            if pred is not None:
                for key in keys:
                    if key not in pred:
                        raise ValueError(
                            f"model {model.alias!r} has no {key} interval of its "
                            "own: give it prediction_intervals=ConformalIntervals()"
                        )
                    result[key][rows] = pred[key]
            rest = np.setdiff1d(np.arange(n), rows)
            if len(rest):
                self._fill_rest(result, keys, rest, panel, model, fallback)
            out[model.alias] = result
        closed = panel.closed(X)
        carried = self._carried(out, closed, panel, orders)
        for result in out.values():
            for values in result.values():
                values[closed] = 0.0
        for alias, backlog in carried.items():
            _carry(out[alias], backlog)
        return out, reasons

    def _carried(
        self,
        out: Predictions,
        closed: npt.NDArray[np.bool_],
        panel: Panel,
        orders: FloatArray | None = None,
    ) -> dict[str, FloatArray]:
        """The backlog each model's first open days carry (before zeroing)."""
        if not self.carry_backlog:
            return {}
        if orders is not None:
            fixed = self.carry_share
            share = self._orders_share if fixed is None else fixed
            taken = share * _taken(orders, np.hstack([panel.closed(), closed]), panel)
            return dict.fromkeys(out, taken)
        level_share = self.carry_share
        if level_share is None:
            level_share = history_carry_share(panel.y, panel.closed())
        return {
            alias: level_share * _backlog(result["mean"], closed)
            for alias, result in out.items()
        }

    def _orders_ahead(
        self, panel: Panel, h: int, orders: pd.DataFrame | None
    ) -> FloatArray | None:
        """Orders per series over the history's days and the ``h`` after
        (NaN where unknown): ``fit``'s orders, then ``predict``'s."""
        if not self.carry_backlog or self._orders is None or orders is None:
            return None
        future = validate_df(orders, frame="orders")
        return _orders_array(
            pd.concat([self._orders, future], ignore_index=True)
            .drop_duplicates([ID, DS], keep="last")
            .reset_index(drop=True),
            panel,
            panel.n_days + h,
        )

    def _fill_rest(
        self,
        result: dict[str, FloatArray],
        keys: Sequence[str],
        rest: IntArray,
        panel: Panel,
        model: Model,
        fallback: Callable[[], dict[str, FloatArray]],
    ) -> None:
        """The fallback's forecasts of the ``rest`` rows of ``model``'s column."""
        if self.fallback_model is None:
            raise FrameError(
                f"df: series '{panel.ids[int(rest[0])]}' is too short for "
                f"{model.alias} and there is no fallback_model",
                ID,
            )
        spare = fallback()
        for key in keys:
            if key not in spare:
                raise ValueError(
                    f"fallback {self.fallback_model.alias!r} has no native "
                    f"{key} interval: give it prediction_intervals"
                )
            result[key][rest] = spare[key][rest]

    def _fit_at(
        self, panel: Panel, cutoff: int, cache: _Cache, *, strict: bool
    ) -> _Fitted:
        """Models fitted on the rows up to ``cutoff`` (index into ``panel``).

        Series not started by the cutoff are left out; so are, unless
        ``strict``, series too short for the fallback.
        """
        head = panel.head(cutoff + 1)
        if strict:
            self._check_history(head.select(np.flatnonzero(head.history_days >= 1)))
        if cutoff not in cache.fits:
            rows = np.flatnonzero(head.history_days >= self._floor())
            if len(rows) == 0:
                raise FrameError(
                    f"df: no series has {self._floor()} days of history by "
                    f"{panel.ds[cutoff]}",
                    DS,
                )
            cache.fits[cutoff] = self._fit_panel(head.select(rows), rows)
        return cache.fits[cutoff]

    def _forward(self, fitted: _Fitted, panel: Panel, cutoff: int) -> _Fitted:
        """``fitted`` moved forward to forecast from ``cutoff`` without refitting."""
        head = panel.head(cutoff + 1).select(fitted.rows)
        moved = _Fitted(panel=head, rows=fitted.rows)
        for alias, (instance, idx) in fitted.models.items():
            if instance is None:
                moved.models[alias] = (None, idx)
                continue
            sub = head.select(idx) if len(idx) < head.n_series else head
            moved.models[alias] = (instance.forward(sub), idx)
        moved.fallback_ids = fitted.fallback_ids
        moved.reasons = fitted.reasons
        return moved

    def _run(
        self,
        panel: Panel,
        cutoff: int,
        h: int,
        level: Sequence[int],
        cache: _Cache,
        *,
        fit_at: int | None = None,
        strict: bool = True,
    ) -> _Run:
        """Forecast the ``h`` days after ``cutoff`` with models fitted at ``fit_at``.

        ``fit_at`` (default: ``cutoff``) earlier than ``cutoff`` moves the
        fitted models forward instead of refitting.
        """
        origin = cutoff if fit_at is None else fit_at
        key = (origin, cutoff, h, tuple(level))
        if key not in cache.runs:
            fitted = self._fit_at(panel, origin, cache, strict=strict)
            if origin != cutoff:
                fitted = self._forward(fitted, panel, cutoff)
            rows = fitted.rows
            X = panel.X[rows, cutoff + 1 : cutoff + 1 + h]
            if X.shape[1] < h:
                pad = np.zeros((len(rows), h - X.shape[1], len(panel.exog)))
                X = np.concatenate([X, pad], axis=1)
            predictions, reasons = self._predict_panel(fitted, h, X, level)
            cache.runs[key] = _Run(rows, predictions, reasons)
        return cache.runs[key]

    def _calibrate(self, panel: Panel, cutoff: int, cache: _Cache) -> dict[str, Scores]:
        """Conformity scores (step, score, month) of each conformal model
        before ``cutoff``."""
        scores: dict[str, Scores] = {}
        closed = panel.closed()
        for model in self.models:
            spec = model.prediction_intervals
            if spec is None:
                continue
            earliest = cutoff - spec.n_windows * spec.h
            if earliest < 0:
                raise FrameError(
                    f"df: too little history for {spec.n_windows} calibration "
                    f"windows of {spec.h} days before {panel.ds[cutoff]} "
                    f"(model {model.alias!r})",
                    DS,
                )
            steps_all: list[IntArray] = []
            values_all: list[FloatArray] = []
            months_all: list[IntArray] = []
            windows_all: list[IntArray] = []
            for k in range(spec.n_windows, 0, -1):
                start = cutoff - k * spec.h
                run = self._run(
                    panel,
                    start,
                    spec.h,
                    (),
                    cache,
                    fit_at=None if spec.refit else earliest,
                    strict=False,
                )
                window = slice(start + 1, start + 1 + spec.h)
                mean = run.predictions[model.alias]["mean"]
                actual = panel.y[run.rows, window]
                keep = ~closed[run.rows, window] & ~np.isnan(actual) & ~np.isnan(mean)
                # A carried day's error is the carry's: its interval is widened.
                backlog = run.predictions[model.alias].get("backlog")
                if backlog is not None:
                    keep &= backlog == 0
                steps = np.broadcast_to(np.arange(1, spec.h + 1), mean.shape)
                months = np.broadcast_to(_months(panel.ds[window]), mean.shape)
                values_all.append(conformity_scores(actual, mean, keep, spec.method))
                steps_all.append(steps[keep])
                months_all.append(months[keep])
                windows_all.append(np.full(int(keep.sum()), k, dtype=np.intp))
            naive = None
            if spec.by_month and spec.month_scale == "naive":
                naive = _naive_scores(panel, closed, cutoff, spec)
            scores[model.alias] = (
                np.concatenate(steps_all).astype(np.intp),
                _Scored(
                    np.concatenate(values_all),
                    np.concatenate(months_all).astype(np.intp),
                    np.concatenate(windows_all),
                ),
                naive,
            )
        return scores

    def _add_intervals(
        self,
        predictions: Predictions,
        scores: dict[str, Scores],
        h: int,
        level: Sequence[int],
        closed: npt.NDArray[np.bool_],
        days: npt.NDArray[np.datetime64],
    ) -> None:
        for model in self.models:
            spec = model.prediction_intervals
            if spec is None or not level:
                continue
            if h > spec.h:
                raise ValueError(
                    f"h={h} exceeds the calibrated horizon {spec.h} of "
                    f"{model.alias!r} (ConformalIntervals(h=...))"
                )
            steps, own, naive = scores[model.alias]
            inside = steps <= h
            pool = own.values[inside]
            recent = pool
            # The month factors: a month's scores a year back over those of
            # the days that set the level (the model's own: all its windows).
            ref, ref_base = _Scored(pool, own.months[inside], own.windows[inside]), pool
            if spec.by_month:
                last = spec.recent_windows or (
                    spec.n_windows if naive else max(1, spec.n_windows // 2)
                )
                recent = pool[own.windows[inside] <= last]
                if naive is not None:
                    ref, ref_base = naive, naive.values[naive.windows <= last]
            result = predictions[model.alias]
            backlog = result.get("backlog")
            # Bounds of the ordinary forecast, widened by the carry's factor.
            base = result["mean"] if backlog is None else result["mean"] - backlog
            month_of = _months(days)
            for lv in level:
                lo = np.empty_like(base)
                hi = np.empty_like(base)
                groups = np.unique(month_of) if spec.by_month else [None]
                for month in groups:
                    cols = slice(None) if month is None else month_of == month
                    chosen = pool
                    if month is not None:
                        same = ref.values[ref.months == month]
                        chosen = recent * month_factor(ref_base, same, lv)
                    lo[:, cols], hi[:, cols] = conformal_bounds(
                        base[:, cols], chosen, lv, spec.method, symmetric=spec.symmetric
                    )
                if backlog is not None:
                    lo, hi = _widen(result["mean"], backlog, lo, hi)
                lo[closed] = 0.0
                hi[closed] = 0.0
                result[f"lo-{lv}"] = lo
                result[f"hi-{lv}"] = hi

    def _check_exog(self, exog: Sequence[str]) -> None:
        """Let each model refuse exogenous columns it cannot take (by name)."""
        fallback = [] if self.fallback_model is None else [self.fallback_model]
        for model in [*self.models, *fallback]:
            check = getattr(model, "check_exog", None)
            if callable(check):
                check(exog)

    def _join_calendar(self, clean: pd.DataFrame) -> pd.DataFrame:
        """A validated history with the calendar's columns (if any) added."""
        if self.calendar is None:
            return clean
        _no_calendar_columns(clean, "df")
        first, last = clean[DS].min().date(), clean[DS].max().date()
        columns = self.calendar.features(sorted(clean[ID].unique()), first, last)
        return clean.merge(columns, on=[ID, DS], how="left")

    def _future(
        self, X_df: pd.DataFrame | None, panel: Panel, h: int
    ) -> pd.DataFrame | None:
        """The validated future frame, with the calendar's columns (if any)."""
        if self.calendar is None:
            return validate_future(X_df, self._history, h)
        if X_df is not None:
            _no_calendar_columns(X_df, "X_df")
        own = [c for c in panel.exog if c.startswith(PREFIX)]
        other = validate_future(X_df, self._history.drop(columns=own), h)
        first = pd.Timestamp(panel.last_day + _DAY).date()
        columns = self.calendar.features(
            panel.ids, first, first + timedelta(days=h - 1)
        )[[ID, DS, *own]]
        return columns if other is None else other.merge(columns, on=[ID, DS])

    def _fallbacks(self, ids: Sequence[str], reasons: Reasons) -> tuple[Fallback, ...]:
        """The fallback's series as records (none without a fallback: predict
        refuses a series no model can forecast)."""
        if self.fallback_model is None:
            return ()
        used = self.fallback_model.alias
        return tuple(
            Fallback(model=alias, unique_id=ids[i], used=used, reason=why)
            for alias, rows in reasons.items()
            for i, why in sorted(rows.items())
        )

    def _calibration_fallbacks(
        self, panel: Panel, cache: _Cache, final: Sequence[Fallback]
    ) -> tuple[Fallback, ...]:
        """Series whose intervals were calibrated on the fallback's errors.

        A calibration window forecast by the fallback (the model could not
        be fitted that early, or failed) gives conformity scores of the
        fallback, not of the model; say so once per model and series not
        already forecast by the fallback.
        """
        if self.fallback_model is None:
            return ()
        used = self.fallback_model.alias
        calibrated = {m.alias for m in self.models if m.prediction_intervals}
        seen = {(f.model, f.unique_id) for f in final}
        found: dict[tuple[str, str], Fallback] = {}
        for (origin, *_), run in sorted(cache.runs.items(), key=lambda kv: kv[0]):
            for alias in sorted(calibrated & set(run.reasons)):
                for i, why in sorted(run.reasons[alias].items()):
                    key = (alias, panel.ids[int(run.rows[i])])
                    if key in seen or key in found:
                        continue
                    found[key] = Fallback(
                        model=alias,
                        unique_id=key[1],
                        used=used,
                        reason=f"intervals: the calibration fit of "
                        f"{panel.ds[origin]} left it to {used} ({why}); the "
                        "pooled intervals include those errors",
                    )
        return tuple(found.values())

    def fit(
        self, df: pd.DataFrame, *, orders: pd.DataFrame | None = None
    ) -> Forecaster:
        """Validate ``df``, fit every model and calibrate conformal intervals.

        ``orders`` (``unique_id, ds, y``: the orders each series took per
        day, closed days included), with ``carry_backlog``: the first open
        day after a closure carries the orders of its block's days, at the
        share the history's blocks carried (give ``predict`` the horizon's).

        Raises
        ------
        FrameError
            If ``df`` breaks the data contract or has a column a model
            cannot take (the message names the column).
        """
        clean = self._join_calendar(validate_df(df))
        panel = to_panel(clean, closed_col=self.closed_col)
        self._check_exog(panel.exog)
        self._check_history(panel)
        cache = _Cache()
        cutoff = panel.n_days - 1
        self._scores = self._calibrate(panel, cutoff, cache)
        rows = np.arange(panel.n_series)
        self._fitted = self._fit_panel(panel, rows)
        self.fallback_ids_ = self._fitted.fallback_ids
        final = self._fallbacks(panel.ids, self._fitted.reasons)
        self._calibrated_by_fallback = self._calibration_fallbacks(panel, cache, final)
        self.fallbacks_ = final + self._calibrated_by_fallback
        self._panel = panel
        self._history = clean
        self._orders = None
        if self.carry_backlog and orders is not None:
            self._orders = validate_df(orders, frame="orders")[[ID, DS, Y]]
            taken = _orders_array(self._orders, panel, panel.n_days)
            self._orders_share = history_carry_share(
                panel.y, panel.closed(), orders=taken
            )
        return self

    def predict(
        self,
        h: int,
        X_df: pd.DataFrame | None = None,
        level: Sequence[int] = (),
        *,
        orders: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Forecast the ``h`` days after the history.

        Parameters
        ----------
        h
            Horizon in days.
        X_df
            Future exogenous values (``unique_id, ds`` + every exogenous
            column of the history but the calendar's) for those days.
        level
            Interval levels, e.g. ``[80]`` or ``[80, 95]``.
        orders
            The orders each series will take on the horizon's days (a
            forecast; ``unique_id, ds, y``), when ``fit`` was given the
            history's: a first open day carries its block's. Every day of a
            block that a first open day in the horizon carries must have one.

        Returns
        -------
        pandas.DataFrame
            ``unique_id, ds``, then per model ``<alias>``, its
            ``<alias>-lo-<level>``, ``<alias>-hi-<level>`` columns and
            ``<alias>-model``: the alias of the model that forecast the row
            (the fallback's where it took over; :attr:`fallbacks_` says why).
        """
        if self._panel is None or self._fitted is None:
            raise RuntimeError("call fit before predict")
        self._check_horizon(h)
        levels = check_levels(level)
        panel = self._panel
        X = future_panel(self._future(X_df, panel, h), panel, h)
        ahead = self._orders_ahead(panel, h, orders)
        predictions, reasons = self._predict_panel(self._fitted, h, X, levels, ahead)
        days = panel.last_day + _DAY * np.arange(1, h + 1)
        self._add_intervals(predictions, self._scores, h, levels, panel.closed(X), days)
        final = self._fallbacks(panel.ids, reasons)
        done = {(f.model, f.unique_id) for f in final}
        self.fallbacks_ = final + tuple(
            f
            for f in self._calibrated_by_fallback
            if (f.model, f.unique_id) not in done
        )
        return self._frame(panel.ids, days, predictions, levels, reasons)

    def forecast(
        self,
        df: pd.DataFrame,
        h: int,
        X_df: pd.DataFrame | None = None,
        level: Sequence[int] = (),
        *,
        orders: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """``fit(df)`` then ``predict(h, X_df, level)``; ``orders`` over the
        history and the horizon go to both (the days each needs)."""
        if orders is None:
            return self.fit(df).predict(h, X_df, level)
        clean = validate_df(orders, frame="orders")
        # fit validates df; its last day is all the split needs.
        last = pd.to_datetime(df[DS]).max()
        past = clean[clean[DS] <= last]
        future = clean[clean[DS] > last]
        fitted = self.fit(df, orders=past if len(past) else None)
        return fitted.predict(h, X_df, level, orders=future if len(future) else None)

    def _frame(
        self,
        ids: Sequence[str],
        days: npt.NDArray[np.datetime64],
        predictions: Predictions,
        level: Sequence[int],
        reasons: Reasons,
    ) -> pd.DataFrame:
        n, h = len(ids), len(days)
        columns: dict[str, object] = {
            ID: np.repeat(np.asarray(ids, dtype=object), h).astype(str),
            DS: np.tile(days.astype("datetime64[ns]"), n),
        }
        spare = "" if self.fallback_model is None else self.fallback_model.alias
        for model in self.models:
            result = predictions[model.alias]
            columns[model.alias] = result["mean"].reshape(-1)
            for lv in sorted(level, reverse=True):
                columns[f"{model.alias}-lo-{lv}"] = result[f"lo-{lv}"].reshape(-1)
            for lv in sorted(level):
                columns[f"{model.alias}-hi-{lv}"] = result[f"hi-{lv}"].reshape(-1)
            used = np.full(n, model.alias, dtype=object)
            used[list(reasons.get(model.alias, {}))] = spare
            columns[f"{model.alias}{MODEL_SUFFIX}"] = np.repeat(used, h).astype(str)
            if "backlog" in result:
                columns[f"{model.alias}{BACKLOG_SUFFIX}"] = result["backlog"].reshape(
                    -1
                )
        return pd.DataFrame(columns)

    # ------------------------------------------------------- cross-validation

    def cross_validation(
        self,
        df: pd.DataFrame,
        h: int,
        *,
        n_windows: int = 1,
        step_size: int | None = None,
        cutoffs: Sequence[date | str | pd.Timestamp] | None = None,
        level: Sequence[int] = (),
    ) -> pd.DataFrame:
        """Rolling-origin evaluation: refit at each cutoff, forecast ``h`` days.

        Each fit sees only the rows up to its cutoff, and each forecast the
        exogenous values of its ``h`` days. Conformal calibration windows of
        a cutoff lie before it; fits shared by several cutoffs (a cutoff that
        is also another's calibration window) run once.

        Parameters
        ----------
        df
            The history (validated as in :meth:`fit`).
        h
            Horizon in days.
        n_windows, step_size
            Without ``cutoffs``: ``n_windows`` cutoffs ``step_size`` days
            apart (default ``h``), the last window ending on the last day.
        cutoffs
            Explicit cutoffs: the last training day of each window.
        level
            Interval levels.

        Returns
        -------
        pandas.DataFrame
            ``unique_id, ds, cutoff, y`` and the model columns (as
            :meth:`predict`'s), sorted by cutoff, series and day.
        """
        self._check_horizon(h)
        levels = check_levels(level)
        clean = self._join_calendar(validate_df(df))
        panel = to_panel(clean, closed_col=self.closed_col)
        self._check_exog(panel.exog)
        points = _cutoff_points(panel, h, n_windows, step_size, cutoffs)
        cache = _Cache()
        frames = [self._window(panel, point, h, levels, cache) for point in points]
        return pd.concat(frames, ignore_index=True)

    def _window(
        self, panel: Panel, point: int, h: int, levels: Sequence[int], cache: _Cache
    ) -> pd.DataFrame:
        """The forecast of one cross-validation window, with its actuals."""
        run = self._run(panel, point, h, levels, cache)
        predictions = {
            alias: {k: v.copy() for k, v in res.items()}
            for alias, res in run.predictions.items()
        }
        scores = self._calibrate(panel, point, cache)
        closed = panel.closed()[run.rows, point + 1 : point + 1 + h]
        days = panel.ds[point + 1 : point + 1 + h]
        self._add_intervals(predictions, scores, h, levels, closed, days)
        ids = [panel.ids[i] for i in run.rows]
        frame = self._frame(ids, days, predictions, levels, run.reasons)
        frame.insert(2, "cutoff", np.datetime64(panel.ds[point], "ns"))
        frame.insert(3, Y, panel.y[run.rows, point + 1 : point + 1 + h].reshape(-1))
        return frame


def _months(days: npt.NDArray[np.datetime64]) -> npt.NDArray[np.intp]:
    """Calendar month (1..12) of each day."""
    d = days.astype("datetime64[D]")
    month: npt.NDArray[np.intp] = (
        d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    ).astype(np.intp)
    return month


def _naive_scores(
    panel: Panel,
    closed: npt.NDArray[np.bool_],
    cutoff: int,
    spec: ConformalIntervals,
) -> _Scored:
    """The weekly naive's (``y[t - 7]``) scores of every open day in the
    windows of ``spec.h`` days that cover the year (and a horizon) before
    ``cutoff``; it needs no fit, so every year's scores come from the same
    forecaster. Days without the day a week back are left out."""
    n_windows = math.ceil((365 + spec.h) / spec.h)
    values, months, windows = [], [], []
    for k in range(n_windows, 0, -1):
        start = cutoff - k * spec.h
        day = np.arange(max(start + 1, 7), start + 1 + spec.h)
        if len(day) == 0:
            continue
        actual = panel.y[:, day]
        naive = panel.y[:, day - 7]
        keep = ~closed[:, day] & ~closed[:, day - 7]
        scored = conformity_scores(actual, naive, keep, spec.method)
        ok = keep & ~np.isnan(actual) & ~np.isnan(naive)
        values.append(scored)
        months.append(np.broadcast_to(_months(panel.ds[day]), ok.shape)[ok])
        windows.append(np.full(len(scored), k, dtype=np.intp))
    return _Scored(
        np.concatenate(values),
        np.concatenate(months).astype(np.intp),
        np.concatenate(windows),
    )


def _blocks(closed: npt.NDArray[np.bool_]) -> Iterator[tuple[int, int, int]]:
    """``(series, first closed day, first open day after)`` of every block of
    closed days followed by an open one."""
    for i, j in np.argwhere(~closed[:, 1:] & closed[:, :-1]):
        start = int(j)
        while start > 0 and closed[i, start - 1]:
            start -= 1
        yield int(i), start, int(j) + 1


def _backlog(mean: FloatArray, closed: npt.NDArray[np.bool_]) -> FloatArray:
    """Per series and day: the block's days at this day's own forecast (their
    count times ``mean``) when it is the first open day after a block of
    closed days, else 0."""
    out = np.zeros_like(mean)
    for i, start, first_open in _blocks(closed):
        out[i, first_open] = (first_open - start) * mean[i, first_open]
    return np.nan_to_num(out)


def _orders_array(orders: pd.DataFrame, panel: Panel, n_days: int) -> FloatArray:
    """A validated ``orders`` frame on the panel's series and its first
    ``n_days`` days from the panel's first (NaN where it has none)."""
    unknown = sorted(set(orders[ID]) - set(panel.ids))
    if unknown:
        raise FrameError(f"orders: series '{unknown[0]}' is not in the history", ID)
    out = np.full((panel.n_series, n_days), np.nan)
    first = panel.ds[0]
    col = (orders[DS].to_numpy().astype("datetime64[D]") - first).astype(np.int64)
    row = pd.Index(panel.ids).get_indexer(pd.Index(orders[ID]))
    inside = (col >= 0) & (col < n_days)
    out[row[inside], col[inside]] = orders[Y].to_numpy(dtype=np.float64)[inside]
    return out


def _taken(
    orders: FloatArray, closed: npt.NDArray[np.bool_], panel: Panel
) -> FloatArray:
    """Per series and horizon day: the orders of its block's days when it is
    the first open day after a block of closed days, else 0.

    ``orders`` and ``closed`` run over the history's days and the
    horizon's; a block may start in the history.
    """
    past = panel.n_days
    out = np.zeros((closed.shape[0], closed.shape[1] - past))
    for i, start, first_open in _blocks(closed):
        if first_open < past:
            continue
        block = orders[i, start:first_open]
        if np.isnan(block).any():
            gap = start + int(np.flatnonzero(np.isnan(block))[0])
            raise FrameError(
                f"orders: series '{panel.ids[i]}' has no orders for "
                f"{_day_at(panel, gap)}, a closed day whose orders "
                f"{_day_at(panel, first_open)} carries",
                Y,
            )
        out[i, first_open - past] = float(block.sum())
    return out


def _day_at(panel: Panel, index: int) -> str:
    return str(panel.ds[0] + _DAY * index)


def _carry(result: dict[str, FloatArray], backlog: FloatArray) -> None:
    """Add ``backlog`` to the mean; widen native intervals by the same factor."""
    result["mean"] = result["mean"] + backlog
    levels = [key[3:] for key in result if key.startswith("lo-")]
    for lv in levels:
        result[f"lo-{lv}"], result[f"hi-{lv}"] = _widen(
            result["mean"], backlog, result[f"lo-{lv}"], result[f"hi-{lv}"]
        )
    result["backlog"] = backlog


def _widen(
    mean: FloatArray, backlog: FloatArray, lo: FloatArray, hi: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Bounds of the ordinary forecast ``mean - backlog`` moved to ``mean``
    with their half-widths scaled by ``mean / (mean - backlog)``: a carried
    day is as uncertain, relatively, as an ordinary one."""
    base = mean - backlog
    carried = backlog > 0
    factor = np.ones_like(mean)
    np.divide(mean, base, out=factor, where=carried & (base > 0))
    new_lo = np.where(carried, mean - (base - lo) * factor, lo)
    new_hi = np.where(carried, mean + (hi - base) * factor, hi)
    return np.maximum(new_lo, 0.0, where=carried, out=new_lo), new_hi


def history_carry_share(
    y: FloatArray,
    closed: npt.NDArray[np.bool_],
    *,
    weeks: int = 4,
    orders: FloatArray | None = None,
) -> float:
    """Share of a closed block's usual deliveries its first open day carries.

    Over every block of closed days in the history with its first open day
    observed and ``weeks`` weeks before it: the first open day's excess over
    its usual level, over that level times the block's length, pooled (a
    sum over sum). The usual level is the median of the same weekday's open
    days in the ``weeks`` weeks before the block. Clipped to 0..1;
    1.0 (everything carried) when the history holds no such block.

    With ``orders`` (orders taken per series and day, as ``y``): the excess
    over the orders the block's days took instead (blocks with a day of
    unknown orders are left out), clipped to 0..2: more than 1 when the
    first open day also delivers orders taken the evening before.
    """
    excess = 0.0
    usual = 0.0
    n_days = y.shape[1]
    for i, start, first_open in _blocks(closed):
        if start < 7 * weeks or first_open >= n_days or np.isnan(y[i, first_open]):
            continue
        past = first_open - 7 * np.arange(1, weeks + 1)
        past = past[past < start]
        same = y[i, past][~closed[i, past]]
        if not np.isfinite(same).any():
            continue
        level = float(np.nanmedian(same))
        if orders is None:
            excess += float(y[i, first_open]) - level
            usual += (first_open - start) * level
            continue
        taken = orders[i, start:first_open]
        if np.isnan(taken).any():
            continue
        excess += float(y[i, first_open]) - level
        usual += float(taken.sum())
    if usual <= 0:
        return 1.0
    return float(np.clip(excess / usual, 0.0, 1.0 if orders is None else 2.0))


def _describe(exc: Exception) -> str:
    """An exception as ``Type: message`` for a fallback's reason."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _no_calendar_columns(frame: pd.DataFrame, label: str) -> None:
    """Refuse ``cal_`` columns in a frame when the forecaster makes them."""
    for column in frame.columns:
        if str(column).startswith(PREFIX):
            raise FrameError(
                f"{label}: column '{column}': the forecaster's calendar makes the "
                f"{PREFIX}* columns itself; drop this column or the calendar",
                str(column),
            )


def _cutoff_points(
    panel: Panel,
    h: int,
    n_windows: int,
    step_size: int | None,
    cutoffs: Sequence[date | str | pd.Timestamp] | None,
) -> list[int]:
    """Day numbers of the cutoffs, each leaving ``h`` days of actuals."""
    last = panel.n_days - 1
    if cutoffs is None:
        if n_windows < 1:
            raise ValueError(f"n_windows must be >= 1, got {n_windows}")
        step = h if step_size is None else step_size
        if step < 1:
            raise ValueError(f"step_size must be >= 1, got {step}")
        points = [last - h - step * (n_windows - 1 - k) for k in range(n_windows)]
    else:
        first = panel.ds[0]
        points = []
        for value in cutoffs:
            day = np.datetime64(pd.Timestamp(value).date(), "D")
            points.append(int((day - first).astype(np.int64)))
    for point in points:
        if point < 0 or point + h > last:
            raise FrameError(
                f"df: column '{DS}': cutoff "
                f"{panel.ds[0] + _DAY * point} leaves no room for {h} days "
                f"of actuals inside {panel.ds[0]}..{panel.ds[-1]}",
                DS,
            )
    return points


#: Days of history the global model needs before its earliest calibration
#: fit (it forecasts series with a year of history; a month more to learn).
MODEL_HISTORY_DAYS = 400
#: Days of calibration windows that span the year (and a window more), and
#: the most recent days of them that set the width, with ``by_month``.
SEASONAL_DAYS = 392
LEVEL_DAYS = 112


def default_calibration(h: int, history_days: int) -> ConformalIntervals:
    """The conformal calibration of a forecast of ``h`` days after
    ``history_days`` days of history.

    When the history holds a year of windows after the model's own
    :data:`MODEL_HISTORY_DAYS`, the width follows the month (``by_month``,
    scaled by the weekly naive's months a year back: on Rossmann every
    window, December included, covered 0.76-0.85 where pooled windows
    gave December 0.58); otherwise 2 to 8 windows of ``h`` days, pooled.
    """
    spare = history_days - MODEL_HISTORY_DAYS
    year = math.ceil(SEASONAL_DAYS / h)
    if spare >= year * h:
        return ConformalIntervals(
            h=h,
            n_windows=year,
            refit=False,
            by_month=True,
            recent_windows=min(year, math.ceil(LEVEL_DAYS / h)),
            month_scale="naive",
        )
    return ConformalIntervals(h=h, n_windows=max(2, min(8, spare // h)), refit=False)


def default_models(
    horizon: int = 28,
    *,
    n_windows: int = 8,
    seed: int = 0,
    history_days: int | None = None,
) -> tuple[list[Model], Model]:
    """The standard models: seasonal naive (skill), global GBM, log-linear fallback.

    Every model gets conformal intervals over ``n_windows`` windows of
    ``horizon`` days, forecast by one fit at the earliest window
    (``refit=False``), so calibration costs one extra fit; given the
    history's length, the intervals are :func:`default_calibration`'s.

    Returns
    -------
    models, fallback
        ``[SeasonalNaive(7), GlobalGBM]`` and a :class:`LogLinear` fallback.
    """
    from forecasting.models.gbm import GlobalGBM

    conformal = (
        ConformalIntervals(h=horizon, n_windows=n_windows, refit=False)
        if history_days is None
        else default_calibration(horizon, history_days)
    )
    models: list[Model] = [
        SeasonalNaive(7, prediction_intervals=conformal),
        GlobalGBM(horizon=horizon, seed=seed, prediction_intervals=conformal),
    ]
    return models, LogLinear(prediction_intervals=conformal)
