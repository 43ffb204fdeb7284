"""Recognition: owns the procedures for recognising a person's foreign qualifications.

Writes ``ip.recognition.procedure.v1`` (key: case id): counselling, Referenzberuf, competent
authority, application, Bescheid, ZAB statement, protected titles, adaptation qualification,
and competence assessments. Reads no other topic.
"""
