"""What a network partner's feed may pass on: the purpose rules' consent rule, narrowed to one
subscription (one partner, one purpose, some data categories), and for employers to what
DOMAIN.md lets an employer see.

An employer is not one partner but many: each organisation is a recipient of its own, named
in a consent by its Betriebsnummer, with its own subscription, topic and principal. It learns
the consented profile and of a work-permission decision only "granted yes/no and until when"
(``EMPLOYER_FIELDS``): never the reasons for a refusal, the restrictions or the rule version
behind it, the Bundesagentur's consent (Vorrangprüfung) or the residence history.

Pure: no I/O, no clock; ``on`` is the day the feed judges on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

from contracts.intake import ConsentGiven, DataCategory, Partner, Purpose
from services.projections.purpose import (
    AnyEvent,
    CaseFacts,
    Employer,
    consent_for,
    data_category,
)

EMPLOYER_FIELDS: Final[dict[str, frozenset[str] | None]] = {
    # The profile the person consented to show (schooling, training, work history).
    "intake.profile_recorded": None,
    # "permission granted yes/no and until when" (and which request and when decided).
    "placement.permission_decided": frozenset(
        {"request_id", "granted", "valid_until", "decided_on"}
    ),
}
"""The only events an employer's feed passes on, and their fields (None: every field). Any
other event type, however its category and the consent read, stays back."""

EMPLOYER_PURPOSE: Final = Purpose.PLACEMENT  # the one purpose an employer pursues
_BETRIEBSNUMMER: Final = re.compile(r"[0-9]{8}")


@dataclass(frozen=True)
class Subscription:
    """A network partner subscribed to its feed for one purpose and some data categories;
    an employer as one organisation (``organisation``: its Betriebsnummer)."""

    partner: Partner
    purpose: Purpose
    categories: frozenset[DataCategory]
    organisation: str | None = None

    def __post_init__(self) -> None:
        if self.partner is not Partner.EMPLOYER:
            if self.organisation is not None:
                raise ValueError("only an employer subscribes as an organisation")
            return
        if self.organisation is None or not _BETRIEBSNUMMER.fullmatch(self.organisation):
            raise ValueError("an employer subscribes as one organisation: its Betriebsnummer")
        if self.purpose is not EMPLOYER_PURPOSE:
            raise ValueError(f"an employer pursues {EMPLOYER_PURPOSE.value} only")

    @property
    def name(self) -> str:
        """The subscriber's name: its topic, principal, groups and schema derive from it."""
        if self.organisation is None:
            return self.partner.value
        return f"{self.partner.value}_{self.organisation}"

    @property
    def recipient(self) -> Partner | Employer:
        """Whom a consent must name for the feed to pass anything on."""
        if self.organisation is None:
            return self.partner
        return Employer(self.organisation)


def forwarding(
    subscription: Subscription,
    event: AnyEvent,
    case: CaseFacts,
    on: date,
    *,
    recorded_on: date | None = None,
    recorded_at: datetime | None = None,
) -> UUID | None:
    """May the partner's feed pass ``event`` on, on day ``on``? The consent it rests on, or
    None. The same consent rule as a partner's view: valid on ``on``, naming the partner (an
    employer: its organisation), the subscription's purpose and the event's data category,
    which the subscription must also list. The case's administration (no category) is never
    passed on, not even a referral, nor a category that a retention period erased (recorded
    before the erasure, on ``recorded_on`` at ``recorded_at``; by default ``on``); to an
    employer only the events of ``EMPLOYER_FIELDS``.
    """
    category = data_category(event.type)
    if category is None or category not in subscription.categories:
        return None
    if case.category_erased(category, on if recorded_on is None else recorded_on, recorded_at):
        return None
    if subscription.partner is Partner.EMPLOYER and event.type not in EMPLOYER_FIELDS:
        return None
    purposes = frozenset({subscription.purpose})
    return consent_for(subscription.recipient, purposes, event, category, case, on)


def forwarded_data(
    subscription: Subscription, event_type: str, data: dict[str, Any]
) -> dict[str, Any]:
    """The fields of an event the feed passes on (with its ``type``): all of them, but to an
    employer only those of ``EMPLOYER_FIELDS``."""
    if subscription.partner is not Partner.EMPLOYER:
        return data
    fields = EMPLOYER_FIELDS.get(event_type, frozenset())
    if fields is None:
        return data
    return {key: value for key, value in data.items() if key in fields or key == "type"}


def names_subscriber(subscription: Subscription, consent: ConsentGiven) -> bool:
    """Whether ``consent`` names the subscriber for its purpose (then the feed judges the
    case); an employer only by its organisation."""
    if subscription.purpose not in consent.purposes:
        return False
    return any(
        r.partner is subscription.partner and r.organisation == subscription.organisation
        for r in consent.recipients
    )
