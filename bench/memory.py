"""Where an idle process's memory goes: the resident size after each import, in order.

A fresh interpreter imports the libraries the services are built on one after the other,
then the process's own module (as ``python -m`` would, without running it), and reports its
resident set after each step; what the running process holds beyond that is its own state
(connections, buffers, caches).
"""

from __future__ import annotations

import subprocess
import sys
from importlib.util import find_spec

from bench.core import REPO

# The services' libraries, roughly from the bottom of the stack up.
LIBRARIES = (
    "pydantic",
    "pydantic_settings",
    "structlog",
    "asyncpg",
    "cryptography.hazmat.primitives.ciphers.aead",
    "prometheus_client",
    "opentelemetry.sdk.trace",
    "opentelemetry.exporter.zipkin.json",
    "httpx",
    "aiokafka",
    "faststream.kafka",
    "fastapi",
    "uvicorn",
    "contracts.topics",
)

_SCRIPT = """
import importlib, os, sys
page = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * page
print("python", rss())
for name in sys.argv[1:]:
    importlib.import_module(name)
    print(name, rss())
"""


def import_rss(module: str) -> list[tuple[str, float]]:
    """``(what was imported, resident MB after it)``: the interpreter, then each library,
    then ``module`` (a ``python -m`` module of the platform)."""
    spec = find_spec(module)
    if spec is not None and spec.submodule_search_locations is not None:
        module += ".__main__"  # what ``python -m`` runs for a package
    done = subprocess.run(  # noqa: S603  # this interpreter, our script, our module names
        [sys.executable, "-c", _SCRIPT, *LIBRARIES, module],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    steps = []
    for line in done.stdout.splitlines():
        name, _, size = line.rpartition(" ")
        steps.append((name, int(size) / 1e6))
    return steps
