"""Profile completeness: incomplete CVs are the most common audit finding, so it is measured."""

from __future__ import annotations

from contracts.intake import VocationalEntry, WorkEntry
from services.intake.commands import RecordProfile

# Four parts of a quarter each: schooling, some vocational or work history, every history
# entry coded as an occupation (KldB 2010), and a target occupation.


def completeness(profile: RecordProfile) -> int:
    """Percent of the four parts a profile fills."""
    history: tuple[VocationalEntry | WorkEntry, ...] = (*profile.vocational, *profile.work_history)
    parts = (
        bool(profile.schooling),
        bool(history),
        bool(history) and all(entry.kldb is not None for entry in history),
        profile.target_occupation is not None,
    )
    return 25 * sum(parts)
