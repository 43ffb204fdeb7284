"""The operators' look-up of the reference events record for a person of the provider."""

from __future__ import annotations

import pytest

from services.chassis.actors import actor_reference, main


def test_the_reference_command_prints_what_events_record(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`reference --agency --subject` prints the HMAC reference under the deployment's key,
    which differs per agency and per key."""
    monkeypatch.setenv("IP_ACTOR_REFERENCE_KEY", "a-deployments-own-reference-key")
    main(["reference", "--agency", "AA-MG", "--subject", "f3c1-sub"])
    printed = capsys.readouterr().out.strip()

    assert printed == actor_reference(b"a-deployments-own-reference-key", "AA-MG", "f3c1-sub")
    assert printed != actor_reference(b"a-deployments-own-reference-key", "JC-MG", "f3c1-sub")
    assert printed != actor_reference(b"another-key", "AA-MG", "f3c1-sub")
