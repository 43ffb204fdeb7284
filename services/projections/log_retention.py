"""How long a view keeps the access log of an erased person (pure; the reasoning is in
docs/data-protection.md, "Access logs of an erased person").

The rows stay after the erasure: they hold no personal field of the person (only the case
id, whose keys are gone) and they are the controller's proof of who read the person's data,
when and why (Art. 5(2), Art. 17(3)(b) and (e) DSGVO). They go at the end of the calendar
year after the erasure, the period § 76 (4) BDSG sets for log data.
"""

from __future__ import annotations

from datetime import date


def access_log_kept_until(erased_on: date) -> date:
    """The last day an erased person's access log is kept: 31 December of the next year."""
    return date(erased_on.year + 1, 12, 31)


def access_log_due(erased_on: date, today: date) -> bool:
    """Whether the access log of a person erased on ``erased_on`` goes on ``today``."""
    return today > access_log_kept_until(erased_on)
