"""Where a deployment runs: its timezone, currency and holiday calendar.

A :class:`Locale` travels on every :class:`routing.model.Problem` (and in the
service's settings), so no library code assumes a city or a currency:

* ``timezone``: an IANA name (``Europe/Berlin``). Times of day in a problem
  are elapsed seconds since local midnight of its date in this zone
  (:mod:`routing.units`), so a route's durations are real ones also on the
  days the clocks change.
* ``currency``: an ISO 4217 code. Money on the models is a ``float`` in the
  currency's major unit (won, dollars, euros); :attr:`Locale.minor_units`
  says how many decimals an amount is shown and rounded with.
* ``hour_cost``: what one driver-hour costs in that currency. Default
  amounts (an unserved order's penalty, a basket, the price of moving a
  promised stop) are written in driver-hours, a unit a logistics team
  reasons in whatever its money, and :meth:`Locale.amount` turns them into
  the currency. Unset, it is the currency's entry in
  :data:`DRIVER_HOUR_COST`; a currency without one needs it given.
* ``country`` and ``subdivision``: the public holiday calendar of the
  ``holidays`` package (any country it knows, e.g. ``US`` with ``NY``).

The defaults are the original deployment's: Asia/Seoul, KRW, KR.
"""

from __future__ import annotations

import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from routing.base import FrozenModel

__all__ = [
    "CURRENCY_MINOR_UNITS",
    "DEFAULT_LOCALE",
    "DRIVER_HOUR_COST",
    "Locale",
    "zone",
]

#: Decimals of every active ISO 4217 currency (the standard's "minor unit"),
#: two unless listed otherwise below.
_TWO_DECIMALS = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL "
    "BSD BTN BWP BYN BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP "
    "ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS "
    "INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD "
    "MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN "
    "PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD "
    "SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED "
    "VES WST XCD XCG YER ZAR ZMW ZWG"
)
CURRENCY_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS.split(), 2),
    **dict.fromkeys(
        [
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ],
        0,
    ),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}

#: The smallest driver-hour cost a locale may name (see ``Locale.hour_cost``).
MIN_HOUR_COST = 0.5

#: A loaded delivery-driver hour (wage, social charges, the van's share) in
#: common currencies: rough 2026 sizes that default amounts are scaled by,
#: not data. A shop sets its own (``Locale.hour_cost``, the service's
#: ``MILEPOST_HOUR_COST``). KRW is exactly 20,000 so that the original
#: deployment's defaults (a 100,000 won drop penalty = 5 h) stay as they were.
DRIVER_HOUR_COST: dict[str, float] = {
    "AED": 60.0,
    "ARS": 12_000.0,
    "AUD": 35.0,
    "BRL": 30.0,
    "CAD": 30.0,
    "CHF": 40.0,
    "CLP": 6_000.0,
    "CNY": 40.0,
    "COP": 20_000.0,
    "CZK": 300.0,
    "DKK": 220.0,
    "EUR": 22.0,
    "GBP": 17.0,
    "HKD": 90.0,
    "IDR": 40_000.0,
    "ILS": 70.0,
    "INR": 250.0,
    "JPY": 2_000.0,
    "KRW": 20_000.0,
    "KWD": 3.5,
    "MXN": 120.0,
    "MYR": 20.0,
    "NOK": 250.0,
    "NZD": 30.0,
    "PHP": 150.0,
    "PLN": 40.0,
    "SAR": 40.0,
    "SEK": 250.0,
    "SGD": 20.0,
    "THB": 120.0,
    "TRY": 250.0,
    "TWD": 250.0,
    "USD": 25.0,
    "VND": 60_000.0,
    "ZAR": 90.0,
}


@functools.cache
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``.

    Raises
    ------
    ValueError
        ``name`` is not a timezone this machine's tz database knows.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA timezone name (like 'Asia/Seoul' or "
            "'America/New_York')"
        ) from None


@functools.cache
def _countries() -> dict[str, list[str]]:
    # Imported here: the calendar is only read when a locale is validated.
    import holidays

    return holidays.list_supported_countries(include_aliases=False)


class Locale(FrozenModel):
    """A deployment's timezone, currency and public holiday calendar.

    Codes are case-insensitive on input and kept in their canonical case.
    """

    timezone: str = Field(default="Asia/Seoul", description="IANA timezone name")
    currency: str = Field(default="KRW", description="ISO 4217 currency code")
    country: str = Field(
        default="KR",
        description="ISO 3166 alpha-2 country of the public holiday calendar",
    )
    subdivision: str | None = Field(
        default=None,
        description="the country's subdivision (state, Land) with its own "
        "holidays, as the holidays package names it, e.g. NY or BY",
    )
    hour_cost: float | None = Field(
        default=None,
        # Engines count money in steps of a driver-hour: below half a unit,
        # amounts near the money bound (10^12) overflow their 64-bit costs.
        ge=MIN_HOUR_COST,
        allow_inf_nan=False,
        validate_default=True,
        description="cost of one driver-hour in the currency, the size of "
        "default amounts (unset: the currency's typical one, see "
        "DRIVER_HOUR_COST; required for a currency without one); at least 0.5",
    )

    @field_validator("timezone")
    @classmethod
    def _iana(cls, value: str) -> str:
        try:
            zone(value)
        except ValueError as exc:
            raise PydanticCustomError("timezone", str(exc)) from None
        return value

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in CURRENCY_MINOR_UNITS:
            raise PydanticCustomError(
                "currency",
                "{value} is not an ISO 4217 currency code (like 'KRW', 'USD', 'EUR')",
                {"value": repr(value)},
            )
        return code

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in _countries():
            raise PydanticCustomError(
                "country",
                "{value} is not a country the holidays package knows: give an "
                "ISO 3166 alpha-2 code like 'KR', 'US' or 'DE'",
                {"value": repr(value)},
            )
        return code

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:
            return value
        known = _countries()[country]
        canonical = {s.upper(): s for s in known}.get(value.strip().upper())
        if canonical is None:
            raise PydanticCustomError(
                "subdivision",
                "{value} is not a subdivision of {country} (known: {listed})",
                {
                    "value": repr(value),
                    "country": country,
                    "listed": ", ".join(known) if known else "none",
                },
            )
        return canonical

    @field_validator("hour_cost")
    @classmethod
    def _hour_cost_known(
        cls, value: float | None, info: ValidationInfo
    ) -> float | None:
        currency = info.data.get("currency")
        if value is None and currency is not None and currency not in DRIVER_HOUR_COST:
            raise PydanticCustomError(
                "hour_cost",
                "{currency} has no default driver-hour cost: give hour_cost, what "
                "one driver-hour costs in {currency} (default amounts are sized "
                "by it)",
                {"currency": currency},
            )
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The timezone as a :class:`zoneinfo.ZoneInfo`."""
        return zone(self.timezone)

    @property
    def minor_units(self) -> int:
        """Decimals of the currency: 0 for KRW and JPY, 2 for USD and EUR."""
        return CURRENCY_MINOR_UNITS[self.currency]

    def round_money(self, amount: float) -> float:
        """``amount`` rounded to the currency's minor unit."""
        return round(amount, self.minor_units)

    @property
    def driver_hour(self) -> float:
        """What one driver-hour costs: ``hour_cost``, else the currency's
        entry in :data:`DRIVER_HOUR_COST`."""
        if self.hour_cost is not None:
            return self.hour_cost
        return DRIVER_HOUR_COST[self.currency]

    def amount(self, hours: float) -> float:
        """``hours`` driver-hours in the currency, to its minor unit: how
        default amounts are sized (5 h is 100,000 KRW or 125.00 USD)."""
        return self.round_money(hours * self.driver_hour)

    def money(self, amount: float) -> str:
        """``amount`` for people: grouped, to the minor unit, with the code
        (``"12,500 KRW"``, ``"1,234.50 USD"``)."""
        return f"{amount:,.{self.minor_units}f} {self.currency}"


#: The original deployment's locale: Asia/Seoul, KRW, KR.
DEFAULT_LOCALE = Locale()
