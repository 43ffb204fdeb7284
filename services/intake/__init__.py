"""Intake: owns the person's case from allocation to a town (Early Intervention) onwards.

Writes ``ip.intake.case.v1`` (key: case id). Holds the per-person data keys that seal
personal fields in every event, and hands them to authenticated readers.
"""
