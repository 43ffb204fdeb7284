"""What every service's commands check before their domain sees them (422 when it fails).

The contracts' types (``contracts/common.py``) only state a shape, so that every event
ever stored keeps parsing; commands, which bring new input, are held to more here:

- names and texts must show something: empty after trimming, or made only of invisible
  characters (zero-width space, no-break space, BOM, Hangul filler), is refused;
- country codes are ISO 3166-1 alpha-3 and language codes ISO 639 (639-1, 639-2/T and /B,
  639-3), looked up in pycountry's maintained tables. ``contracts/`` may depend on nothing
  but pydantic and the standard library, so this check lives here, not there;
- a birth date lies in 1900 or later;
- a date marked ``NOT_IN_FUTURE`` (something that already happened: an allocation, a birth,
  a contact, a decision, a start recorded as begun) is not after today. Which day "today"
  is, is the adapter's: the command API checks ``dates_in_future`` against the chassis
  clock (``services.chassis.clock``) before the command reaches the pure domain;
- a rule about several fields raises ``FieldsError`` naming them, so that the 422 names
  fields instead of the whole body.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any, Final

import pycountry
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from contracts.common import CountryCode as CountryShape
from contracts.common import LanguageCode as LanguageShape
from contracts.common import ShortText as ShortTextShape


class FieldsError(ValueError):
    """A rule over several fields of one model, naming the fields it is about (the 422 lists
    the reason under each of them, never under the body as a whole)."""

    def __init__(self, reason: str, *fields: str) -> None:
        super().__init__(reason)
        self.fields: tuple[str, ...] = fields


# --- visible text ---------------------------------------------------------------------------

# Unicode categories that draw nothing: separators (space, no-break space), controls, format
# characters (zero-width space and joiners, BOM, bidi marks), private use and unassigned.
_INVISIBLE_CATEGORIES: Final = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn", "Cs"})
# Letters by category that render blank (Hangul fillers), and the blank braille pattern.
_BLANK_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _visible(char: str) -> bool:
    return char not in _BLANK_LETTERS and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


def _shows_something(text: str) -> str:
    if not any(_visible(char) for char in text):
        raise ValueError("must not be empty or consist only of spaces or invisible characters")
    return text


def _has_a_letter(name: str) -> str:
    _shows_something(name)
    if not any(_visible(c) and unicodedata.category(c).startswith("L") for c in name):
        raise ValueError("a name needs at least one letter")
    return name


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=120),
    AfterValidator(_has_a_letter),
]
ShortText = Annotated[ShortTextShape, AfterValidator(_shows_something)]

# --- codes ----------------------------------------------------------------------------------


def _iso_3166_alpha_3(code: str) -> str:
    if pycountry.countries.get(alpha_3=code) is None:
        raise ValueError(f"{code!r} is no ISO 3166-1 alpha-3 country code")
    return code


def _iso_639(code: str) -> str:
    languages = pycountry.languages
    known = (
        languages.get(alpha_2=code)
        if len(code) == 2  # ISO 639-1 codes have two letters, the rest three
        else languages.get(alpha_3=code) or languages.get(bibliographic=code)
    )
    if known is None:
        raise ValueError(f"{code!r} is no ISO 639 language code")
    return code


CountryCode = Annotated[CountryShape, AfterValidator(_iso_3166_alpha_3)]
LanguageCode = Annotated[LanguageShape, AfterValidator(_iso_639)]

# --- dates ----------------------------------------------------------------------------------


class NotInFuture:
    """Metadata marker: the annotated date records what already happened, so it is not
    after today (checked by the command API against the chassis clock)."""

    def __repr__(self) -> str:
        return "NOT_IN_FUTURE"


NOT_IN_FUTURE: Final = NotInFuture()
EARLIEST_BIRTH: Final = date(1900, 1, 1)


def _born_since_1900(born: date) -> date:
    if born < EARLIEST_BIRTH:
        raise ValueError(f"a birth year before {EARLIEST_BIRTH.year} is not plausible")
    return born


PastDate = Annotated[date, NOT_IN_FUTURE, Field(description="not after today (Europe/Berlin)")]
BirthDate = Annotated[
    date,
    AfterValidator(_born_since_1900),
    NOT_IN_FUTURE,
    Field(description="from 1900-01-01, not after today (Europe/Berlin)"),
]


def dates_in_future(value: Any, today: date) -> Iterator[tuple[str | int, ...]]:
    """Where ``value`` (a command, with nested models and tuples) holds a date marked
    ``NOT_IN_FUTURE`` that lies after ``today``."""
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            item = getattr(value, name)
            marked = any(isinstance(meta, NotInFuture) for meta in info.metadata)
            if marked and isinstance(item, date) and item > today:
                yield (name,)
            else:
                yield from ((name, *at) for at in dates_in_future(item, today))
    elif isinstance(value, tuple | list):
        for index, item in enumerate(value):
            yield from ((index, *at) for at in dates_in_future(item, today))
