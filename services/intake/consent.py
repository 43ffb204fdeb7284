"""Pure rules of consent (Einwilligung): prior, specific, never blanket, withdrawable."""

from __future__ import annotations

from datetime import date, timedelta

from contracts.intake import ConsentExpired, ConsentGiven, ConsentWithdrawn, ReferredToPartner
from services.chassis.rules import InvalidTransitionError
from services.intake.case import Case
from services.intake.commands import ExpireConsent, GiveConsent, ReferToPartner, WithdrawConsent

GUARDIAN_AGE_LIMIT = 15  # under 15 a guardian consents for the person


def give(case: Case, command: GiveConsent) -> ConsentGiven:
    if case.consent(command.consent_id) is not None:
        raise InvalidTransitionError("consent.id_taken", f"consent {command.consent_id} exists")
    age = case.age_on(command.given_on)
    if age is not None and age < GUARDIAN_AGE_LIMIT and not command.given_by_guardian:
        raise InvalidTransitionError(
            "consent.guardian_required_under_15", f"the person is {age} on {command.given_on}"
        )
    return ConsentGiven(**command.model_dump())


def withdraw(case: Case, command: WithdrawConsent) -> ConsentWithdrawn:
    consent = case.consent(command.consent_id)
    if consent is None or not consent.valid_on(command.withdrawn_on):
        raise InvalidTransitionError(
            "consent.must_be_valid", f"no valid consent {command.consent_id} on that day"
        )
    return ConsentWithdrawn(consent_id=command.consent_id, withdrawn_on=command.withdrawn_on)


def expire(case: Case, command: ExpireConsent) -> ConsentExpired:
    consent = case.consent(command.consent_id)
    if consent is None or consent.ended_on is not None:
        raise InvalidTransitionError(
            "consent.must_be_running", f"consent {command.consent_id} is unknown or ended"
        )
    # Its last day it still holds: it has expired from the day after valid_until.
    if consent.valid_until is None or command.expired_on <= consent.valid_until:
        raise InvalidTransitionError(
            "consent.not_yet_expired", f"valid until {consent.valid_until or 'revoked'}"
        )
    return ConsentExpired(consent_id=command.consent_id, expired_on=command.expired_on)


def lapsed(case: Case, today: date) -> list[ExpireConsent]:
    """The expiries due on ``today``: every running consent whose last day (``valid_until``)
    has passed, recorded as expired on the first day it no longer holds. None for an erased
    case: its keys are gone, nothing can be opened any more."""
    if case.erased_on is not None:
        return []
    return [
        ExpireConsent(consent_id=c.consent_id, expired_on=c.valid_until + timedelta(days=1))
        for c in case.consents
        if c.ended_on is None and c.valid_until is not None and c.valid_until < today
    ]


def refer(case: Case, command: ReferToPartner) -> ReferredToPartner:
    # A referral passes data to the partner: only with a consent naming it for this purpose.
    if not any(
        c.valid_on(command.referred_on) and c.names(command.partner, command.purpose)
        for c in case.consents
    ):
        raise InvalidTransitionError(
            "referral.needs_consent",
            f"no valid consent names {command.partner} for {command.purpose}",
        )
    if command.referral_id in case.referrals:
        raise InvalidTransitionError("referral.id_taken", f"referral {command.referral_id} exists")
    return ReferredToPartner(**command.model_dump())
