"""Language: owns each person's language path, one stream per case id.

Entitlements and obligations (Integrationskurs, Berufssprachkurs), placement tests,
enrolments with monthly attendance, exams and their CEFR results. Writes
``ip.language.path.v1`` (key: case id); reads ``ip.intake.case.v1`` to follow hand-overs.
"""
