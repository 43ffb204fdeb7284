"""What a network partner receives on its topic (``ip.partner.<partner>.v1``).

Only events about persons whose valid consent names the partner and the purpose it was
subscribed for, only of the data categories it was subscribed for and the consent covers;
the person appears under a pseudonym that is stable for this partner and means nothing to
any other. An event's fields are encrypted with a key of the partner, the person and the
consent, which the partner fetches from the partner feed's key endpoint; when the consent
ends or the person is erased the key is deleted, so what stays on the topic can no longer be
read, and the partner gets a notice to delete what it holds. Keyed by the pseudonym, so one
person's messages keep order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.intake import DataCategory, Partner, Purpose


class _Notice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    notice_id: UUID = Field(description="unique per message: de-duplicate on it")
    partner: Partner
    person: str = Field(description="the person's pseudonym for this partner (not a case id)")


class SealedData(BaseModel):
    """An event's fields as a JSON object, encrypted with AES-256-GCM; opened, an
    OpenedData: the data of the event its event_type names."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str = Field(
        min_length=1,
        max_length=64,
        description="GET <keys.url>/keys/{key_id} with 'Authorization: Bearer <keys.token>' "
        "answers {key_id, person, secret (base64)}; 404 once the key is deleted",
    )
    nonce: str = Field(description="base64 of the 12-byte nonce")
    ciphertext: str = Field(
        description="base64 of the ciphertext with its tag; the associated data is the UTF-8 "
        "of '<person>/<notice_id>'"
    )


class ForwardedEvent(_Notice):
    """One event of the person, as the consent allows it to be passed on."""

    kind: Literal["event"] = "event"
    consent_id: UUID = Field(description="the consent this message rests on")
    purpose: Purpose
    category: DataCategory
    event_type: str = Field(description="e.g. recognition.counselling_held")
    occurred_at: datetime
    data: SealedData = Field(
        description="the event's fields (personal ones opened), sealed; opened, they follow "
        "the OpenedData schema of event_type (the services' documents describe the same)"
    )


class ConsentEnded(_Notice):
    """The consent was withdrawn or expired: delete what was received under it. Its keys
    are deleted already."""

    kind: Literal["consent_ended"] = "consent_ended"
    consent_id: UUID = Field(description="the consent this message rests on")
    reason: Literal["withdrawn", "expired"]
    ended_at: datetime


class Erased(_Notice):
    """The person's data was erased (Art. 17, 19 DSGVO): delete everything received about
    the person. Every key of the person is deleted already."""

    kind: Literal["erased"] = "erased"
    erased_at: datetime


class CategoryErased(_Notice):
    """The retention period of one data category of the person ran out (Art. 17(1)(a),
    Art. 19 DSGVO): delete what was received about the person in that category; the rest
    stays. The keys of that category are deleted already."""

    kind: Literal["category_erased"] = "category_erased"
    category: DataCategory
    erased_at: datetime


PartnerNotice = ForwardedEvent | ConsentEnded | Erased | CategoryErased
PartnerMessage = Annotated[PartnerNotice, Field(discriminator="kind")]
partner_message: TypeAdapter[PartnerNotice] = TypeAdapter(PartnerMessage)


# The Kafka headers of every message on a partner's topic (besides W3C Trace Context, as on
# the domain topics); the key is the message's person (the pseudonym).
NOTICE_HEADERS: Final[dict[str, str]] = {
    "kind": "the message's kind: event, consent_ended or erased",
    "notice_id": "the message's notice_id: de-duplicate on it",
}


def notice_headers(message: PartnerNotice) -> dict[str, str]:
    """The headers the partner feed publishes ``message`` with."""
    return {"kind": message.kind, "notice_id": str(message.notice_id)}
