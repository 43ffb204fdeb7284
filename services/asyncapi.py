"""The AsyncAPI documents integrators read, generated from the services' FastStream apps.

``python -m services.asyncapi --write`` regenerates ``docs/asyncapi/<service>.json`` and
``docs/asyncapi/partners.json`` (the network partners' topics);
``--check`` (run by the tests) fails when a committed document drifts from the code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.intake import IntakeEnvelope
from contracts.language import LanguageEnvelope
from contracts.placement import PlacementEnvelope
from contracts.recognition import RecognitionEnvelope
from services.chassis.service import ServiceSpec, asyncapi_document
from services.intake.app import SPEC as INTAKE
from services.language.app import SPEC as LANGUAGE
from services.placement.app import SPEC as PLACEMENT
from services.projections.partner_docs import asyncapi_document as partner_topics_document
from services.recognition.app import SPEC as RECOGNITION

DOCS = Path(__file__).resolve().parents[1] / "docs" / "asyncapi"

SERVICES: dict[str, tuple[ServiceSpec[Any], type[Envelope[Any]]]] = {
    "intake": (INTAKE, IntakeEnvelope),
    "language": (LANGUAGE, LanguageEnvelope),
    "recognition": (RECOGNITION, RecognitionEnvelope),
    "placement": (PLACEMENT, PlacementEnvelope),
}


def documents() -> dict[str, str]:
    """Each service's document, and the partner topics', as generated from the code now."""
    return {
        **{
            name: asyncapi_document(spec, envelope) + "\n"
            for name, (spec, envelope) in SERVICES.items()
        },
        "partners": partner_topics_document() + "\n",
    }


def drifted() -> list[str]:
    """The services whose committed document differs from the generated one."""
    return [
        name
        for name, text in documents().items()
        if not (DOCS / f"{name}.json").is_file() or (DOCS / f"{name}.json").read_text() != text
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.asyncapi",
        description="Generate or check the AsyncAPI documents in docs/asyncapi/.",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="regenerate the documents")
    mode.add_argument("--check", action="store_true", help="exit 1 if a document drifted")
    args = parser.parse_args(argv)
    if args.write:
        DOCS.mkdir(parents=True, exist_ok=True)
        for name, text in documents().items():
            (DOCS / f"{name}.json").write_text(text)
            print(f"wrote {DOCS / name}.json")  # noqa: T201  # a CLI reports what it wrote
        return 0
    stale = drifted()
    for name in stale:
        print(f"{name}: docs/asyncapi/{name}.json drifted; run python -m services.asyncapi --write")  # noqa: T201
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
