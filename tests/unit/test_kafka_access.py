"""How settings become a Kafka client's security: one KafkaAccess for aiokafka and FastStream."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from faststream.security import SASLScram512

from services.chassis.settings import ProcessSettings


def test_the_sasl_variables_make_an_authenticating_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """IP_KAFKA_SASL_* (as the Kubernetes manifests set them) reach every client's arguments."""
    monkeypatch.setenv("IP_KAFKA_BOOTSTRAP", "127.0.0.1:39092")
    monkeypatch.setenv("IP_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("IP_KAFKA_SASL_USERNAME", "ip-intake")
    monkeypatch.setenv("IP_KAFKA_SASL_PASSWORD", "s3cret")

    kafka = ProcessSettings().kafka

    assert kafka.client_kwargs() == {
        "bootstrap_servers": "127.0.0.1:39092",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "ip-intake",
        "sasl_plain_password": "s3cret",
    }
    security = kafka.faststream_security()
    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == (
        "ip-intake",
        "s3cret",
        False,
    )
    assert "s3cret" not in repr(kafka)
    assert kafka.principal == "User:ip-intake"


def test_without_a_user_the_client_speaks_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    """No principal configured: no SASL arguments at all (an open broker elsewhere)."""
    monkeypatch.delenv("IP_KAFKA_SASL_USERNAME", raising=False)
    kafka = ProcessSettings(kafka_bootstrap="127.0.0.1:1").kafka

    assert kafka.client_kwargs() == {
        "bootstrap_servers": "127.0.0.1:1",
        "security_protocol": "PLAINTEXT",
    }
    assert kafka.faststream_security() is None


def _ca_file(directory: Path) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ip test ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = directory / "ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_a_cluster_ca_turns_on_tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """SASL_SSL with the cluster's CA, as platform-config.yaml sets for Kubernetes."""
    monkeypatch.setenv("IP_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("IP_KAFKA_SSL_CAFILE", str(_ca_file(tmp_path)))
    monkeypatch.setenv("IP_KAFKA_SASL_USERNAME", "ip-intake")
    monkeypatch.setenv("IP_KAFKA_SASL_PASSWORD", "s3cret")

    kafka = ProcessSettings().kafka
    kwargs = kafka.client_kwargs()

    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["ssl_context"].get_ca_certs()[0]["subject"] == ((("commonName", "ip test ca"),),)
    security = kafka.faststream_security()
    assert security is not None
    assert security.use_ssl
