"""What a network partner receives on its topic (``ip.partner.<partner>.v1``).

Only events about persons whose valid consent names the partner and the purpose it was
subscribed for, only of the data categories it was subscribed for and the consent covers;
the person appears under a pseudonym that is stable for this partner and means nothing to
any other. When such a consent ends, the partner gets a notice to delete what it received
under it, and nothing further. Keyed by the pseudonym, so one person's messages keep order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.intake import DataCategory, Partner, Purpose


class _Notice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    notice_id: UUID = Field(description="unique per message: de-duplicate on it")
    partner: Partner
    person: str = Field(description="the person's pseudonym for this partner (not a case id)")
    consent_id: UUID = Field(description="the consent this message rests on")


class ForwardedEvent(_Notice):
    """One event of the person, as the consent allows it to be passed on."""

    kind: Literal["event"] = "event"
    purpose: Purpose
    category: DataCategory
    event_type: str = Field(description="e.g. recognition.counselling_held")
    occurred_at: datetime
    data: dict[str, Any] = Field(description="the event's fields (personal ones opened)")


class ConsentEnded(_Notice):
    """The consent was withdrawn or expired: delete what was received under it."""

    kind: Literal["consent_ended"] = "consent_ended"
    reason: Literal["withdrawn", "expired"]
    ended_at: datetime


PartnerMessage = Annotated[ForwardedEvent | ConsentEnded, Field(discriminator="kind")]
partner_message: TypeAdapter[ForwardedEvent | ConsentEnded] = TypeAdapter(PartnerMessage)
