"""``partners add|revoke`` on the command line: an employer is subscribed and revoked as one
organisation, and the command line says so before it touches the broker or the registry."""

from __future__ import annotations

import pytest

from services.projections import partners


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            ["add", "employer", "--purpose", "placement", "--categories", "profile"],
            "--organisation",
        ),
        (["revoke", "employer"], "--organisation"),
        (
            ["add", "iq_counselling", "--organisation", "12345678", "--purpose", "recognition",
             "--categories", "recognition"],
            "--organisation",
        ),
        (
            ["add", "employer", "--organisation", "Schmitz", "--purpose", "placement",
             "--categories", "profile"],
            "Betriebsnummer",
        ),
        (
            ["add", "employer", "--organisation", "12345678", "--purpose", "counselling",
             "--categories", "profile"],
            "placement only",
        ),
    ],
)  # fmt: skip
def test_an_employer_needs_its_organisation_and_no_one_else_has_one(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused with usage status 2 and the reason, before any connection is made."""
    with pytest.raises(SystemExit) as stopped:
        partners.main(argv)

    assert stopped.value.code == 2
    assert says in capsys.readouterr().err
