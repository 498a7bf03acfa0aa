"""Forecasting models: one small class per model, all behind :class:`Model`."""

from forecasting.models.base import Model
from forecasting.models.fallback import LogLinear
from forecasting.models.gbm import DEFAULT_PARAMS, GlobalGBM
from forecasting.models.naive import SeasonalNaive
from forecasting.models.plain_gbm import PlainLightGBM

__all__ = [
    "DEFAULT_PARAMS",
    "GlobalGBM",
    "LogLinear",
    "Model",
    "PlainLightGBM",
    "SeasonalNaive",
]
