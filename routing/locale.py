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

__all__ = ["CURRENCY_MINOR_UNITS", "DEFAULT_LOCALE", "Locale", "zone"]

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

    def money(self, amount: float) -> str:
        """``amount`` for people: grouped, to the minor unit, with the code
        (``"12,500 KRW"``, ``"1,234.50 USD"``)."""
        return f"{amount:,.{self.minor_units}f} {self.currency}"


#: The original deployment's locale: Asia/Seoul, KRW, KR.
DEFAULT_LOCALE = Locale()
