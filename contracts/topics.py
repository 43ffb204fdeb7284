"""Every domain topic of the platform, for the ones who create or subscribe to them."""

from __future__ import annotations

from typing import Any, Final

from contracts import intake, language, placement, recognition
from contracts.codec import TopicCodec

LANGUAGE_TOPIC: Final = "ip.language.path.v1"
RECOGNITION_TOPIC: Final = "ip.recognition.procedure.v1"
PLACEMENT_TOPIC: Final = "ip.placement.case.v1"

DOMAIN_TOPICS: Final = (intake.TOPIC, LANGUAGE_TOPIC, RECOGNITION_TOPIC, PLACEMENT_TOPIC)

# Messages a consumer could not handle, parked with the reason and their origin in headers
# (dlq.reason, dlq.consumer, dlq.topic, dlq.partition, dlq.offset) and their original bytes.
DEAD_LETTER_TOPIC: Final = "ip.deadletter.v1"

ALL_TOPICS: Final = (*DOMAIN_TOPICS, DEAD_LETTER_TOPIC)

# What a network partner receives: one topic per partner, written only by the partner feed,
# read only by that partner (docs/asyncapi/partners.json).
PARTNER_TOPIC_PREFIX: Final = "ip.partner."


def partner_topic(partner: str) -> str:
    """The topic of one partner, e.g. ``ip.partner.iq_counselling.v1``."""
    return f"{PARTNER_TOPIC_PREFIX}{partner}.v1"


# How to read each domain topic; every topic's golden samples are checked against its codec.
CODECS: Final[dict[str, TopicCodec[Any]]] = {
    intake.TOPIC: intake.intake_codec,
    language.TOPIC: language.language_codec,
    recognition.TOPIC: recognition.recognition_codec,
    placement.TOPIC: placement.placement_codec,
}
