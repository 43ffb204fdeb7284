"""The test stack's OpenID Connect provider, Keycloak: started once (found again by its PID
file), serving the realm kept in the repo, on a Java of 21 or newer."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deploy.local import devstack, identity_provider
from tests.conftest import TEST_STACK

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


def test_the_stacks_keycloak_is_found_running_and_serves_the_realm(
    stack: devstack.StackInfo,
) -> None:
    """A second up of the test stack starts no second Keycloak (found by its PID file), the
    status names it, and its realm's discovery document names the issuer the stack reports."""
    again = devstack.up(TEST_STACK)

    assert "keycloak" not in again.started
    assert devstack.status(TEST_STACK)["keycloak"].startswith("running pid ")
    assert stack.identity is not None
    discovery = httpx.get(f"{stack.identity.issuer}/.well-known/openid-configuration", timeout=30)
    assert discovery.json()["issuer"] == stack.identity.issuer
    assert "S256" in discovery.json()["code_challenge_methods_supported"]


def test_keycloak_needs_a_java_of_21_or_newer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a JDK >= 21 in JAVA_HOME or the JVM directory, the error says what is needed;
    with one (its release file says 25), that one is chosen."""
    monkeypatch.delenv("JAVA_HOME", raising=False)
    old = tmp_path / "jvm" / "jdk-17"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "java").write_text("")
    (old / "release").write_text('JAVA_VERSION="17.0.15"\n')
    with pytest.raises(devstack.DevStackError, match="needs Java 21 or newer"):
        identity_provider.java_home(tmp_path / "jvm")

    new = tmp_path / "jvm" / "jdk-25"
    (new / "bin").mkdir(parents=True)
    (new / "bin" / "java").write_text("")
    (new / "release").write_text('JAVA_VERSION="25.0.1"\n')
    assert identity_provider.java_home(tmp_path / "jvm") == new
