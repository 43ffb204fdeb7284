"""The files ``partners add`` writes for a partner, each in a form a standard client reads.

Beside ``<partner>.json`` (everything ``add`` printed: the Kafka settings, the topic, the
consumer-group prefix and where and with what token the keys are fetched) go the client
settings alone, which a Kafka client takes as they are:

- ``<partner>.librdkafka.conf``: librdkafka's properties (``kcat -F``, confluent-kafka and
  every other librdkafka binding);
- ``<partner>.properties``: the Apache Java client's (``--consumer.config``, or
  ``Properties.load``), with SCRAM's JAAS line.

librdkafka logs in with SCRAM to Kafka 4 from 2.6.1 on (README, "Network partners").
All three are secrets: created 0600.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

SUFFIXES: Final = (".json", ".librdkafka.conf", ".properties")

# The keys of ``connection_settings`` that are a Kafka client's own, in both dialects.
_CLIENT_KEYS: Final = ("bootstrap.servers", "security.protocol", "sasl.mechanism")


def librdkafka_config(settings: Mapping[str, str], cafile: str | None = None) -> str:
    """librdkafka's configuration file (``key=value`` lines, ``#`` comments)."""
    lines = [
        f"# {settings['sasl.username']}: read {settings['topic']} in consumer groups starting",
        f"# with {settings['group.id.prefix']} (e.g. kcat -F this-file -G "
        f"{settings['group.id.prefix']}kcat {settings['topic']}). librdkafka >= 2.6.1.",
        *(f"{key}={settings[key]}" for key in _CLIENT_KEYS),
        f"sasl.username={settings['sasl.username']}",
        f"sasl.password={settings['sasl.password']}",
    ]
    if cafile:
        lines.append(f"ssl.ca.location={cafile}")
    return "\n".join(lines) + "\n"


def java_properties(settings: Mapping[str, str], cafile: str | None = None) -> str:
    """The Java client's properties, SCRAM's credentials in ``sasl.jaas.config``."""
    jaas = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{settings["sasl.username"]}" password="{settings["sasl.password"]}";'
    )
    lines = [
        f"# {settings['sasl.username']}: read {settings['topic']}; group.id must start with",
        f"# {settings['group.id.prefix']}",
        *(f"{key}={_escaped(settings[key])}" for key in _CLIENT_KEYS),
        f"sasl.jaas.config={_escaped(jaas)}",
    ]
    if cafile:
        lines += ["ssl.truststore.type=PEM", f"ssl.truststore.location={_escaped(cafile)}"]
    return "\n".join(lines) + "\n"


def _escaped(value: str) -> str:
    # java.util.Properties reads a backslash as an escape; nothing else here is special in a
    # value (generated secrets are URL-safe base64).
    return value.replace("\\", "\\\\")


def write(
    directory: Path, name: str, settings: Mapping[str, str], cafile: str | None = None
) -> list[Path]:
    """Write the partner's three files (0600); their paths."""
    contents = {
        ".json": json.dumps(dict(settings), indent=2) + "\n",
        ".librdkafka.conf": librdkafka_config(settings, cafile),
        ".properties": java_properties(settings, cafile),
    }
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in contents.items():
        path = directory / f"{name}{suffix}"
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(text)
        written.append(path)
    return written


def remove(directory: Path, name: str) -> None:
    """Delete the partner's files (a revoked partner's secret is void anyway)."""
    for suffix in SUFFIXES:
        (directory / f"{name}{suffix}").unlink(missing_ok=True)
