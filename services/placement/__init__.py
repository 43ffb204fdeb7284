"""Placement: work-permission eligibility and decisions, measures, the employer service's
openings and proposals, placements and follow-up contacts.

Writes ``ip.placement.case.v1`` (key: the person's case id). Reads ``ip.intake.case.v1`` for
its own copy of the residence facts and the Jugendberufsagentur route.
"""
