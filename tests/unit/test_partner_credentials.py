"""The files `partners add` writes: the client settings alone, as standard clients read them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from services.projections import partner_credentials

SETTINGS = {
    "bootstrap.servers": "127.0.0.1:19092",
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "ip-partner-iq-counselling",
    "sasl.password": "s3cr-et_",
    "topic": "ip.partner.iq_counselling.v1",
    "group.id.prefix": "partner.iq_counselling.",
    "keys.url": "http://127.0.0.1:8120",
    "keys.token": "token",
}


def _properties(path: Path) -> dict[str, str]:
    """``key=value`` lines without ``#`` comments, as librdkafka and java.util.Properties
    read them (no continuation lines or escapes are written)."""
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def test_the_three_files_are_private_and_hold_only_their_clients_settings(tmp_path: Path) -> None:
    """<partner>.json keeps everything; the librdkafka file has librdkafka's properties only
    (it refuses unknown ones such as topic or keys.url), the Java file SCRAM's JAAS line."""
    written = partner_credentials.write(tmp_path, "iq_counselling", SETTINGS, "/etc/ca.pem")

    assert [p.name for p in written] == [
        "iq_counselling.json",
        "iq_counselling.librdkafka.conf",
        "iq_counselling.properties",
    ]
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}
    assert json.loads(written[0].read_text()) == SETTINGS
    assert _properties(written[1]) == {
        "bootstrap.servers": "127.0.0.1:19092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "ip-partner-iq-counselling",
        "sasl.password": "s3cr-et_",
        "ssl.ca.location": "/etc/ca.pem",
    }
    java = _properties(written[2])
    assert java.pop("sasl.jaas.config") == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="ip-partner-iq-counselling" password="s3cr-et_";'
    )
    assert java == {
        "bootstrap.servers": "127.0.0.1:19092",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": "/etc/ca.pem",
    }


def test_removing_a_partner_deletes_all_its_files(tmp_path: Path) -> None:
    """A revoked partner's three files go (another partner's stay)."""
    partner_credentials.write(tmp_path, "iq_counselling", SETTINGS)
    partner_credentials.write(tmp_path, "employer", SETTINGS)

    partner_credentials.remove(tmp_path, "iq_counselling")

    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "employer.json",
        "employer.librdkafka.conf",
        "employer.properties",
    ]
