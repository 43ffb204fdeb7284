"""Who may do what on the broker: one principal per platform process, and its ACLs.

Derived from what the code does, never written out by hand: a relay writes its service's
topic (``ServiceSpec.topic``); a service reads the topics its reactions follow
(``ServiceSpec.reactions``), in their consumer groups, and parks what it cannot handle on
the dead-letter topic; a view reads the topics it projects, in groups named after it, and
parks on the dead-letter topic too; the partner feed reads the domain topics and writes the
partner topics (``ip.partner.*``). Partners themselves are added by ``partners add``
(``services.projections.partners``). Nobody but the administrator creates topics or reads
the dead-letter topic. Kubernetes states the same grants in ``deploy/k8s/kafka/users.yaml``.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.topics import DEAD_LETTER_TOPIC, DOMAIN_TOPICS, PARTNER_TOPIC_PREFIX
from services.chassis.kafka_admin import Acl, Operation, Pattern, Resource, reads, writes
from services.chassis.service import ServiceSpec
from services.intake.app import SPEC as INTAKE
from services.language.app import SPEC as LANGUAGE
from services.placement.app import SPEC as PLACEMENT
from services.projections.partner_host import FEED_GROUP_PREFIX
from services.projections.purpose import ViewId
from services.recognition.app import SPEC as RECOGNITION

SERVICE_SPECS: Final[tuple[ServiceSpec[Any], ...]] = (INTAKE, LANGUAGE, RECOGNITION, PLACEMENT)
# Every view is one kind of process on the purpose rules, reading the four domain topics:
# each agency's, and steering's (services.projections.agency_main).
VIEWS: Final = tuple(ViewId)
PARTNER_FEED: Final = "ip-partners-feed"


def _group(name: str, pattern: Pattern = Pattern.LITERAL) -> Acl:
    return Acl(Resource.GROUP, name, Operation.READ, pattern)


def _view(view: ViewId, topics: tuple[str, ...]) -> tuple[Acl, ...]:
    # Groups by prefix: a rebuild or a test consumes as projection.<view>.<something>.
    return (
        *(acl for topic in topics for acl in reads(topic)),
        _group(f"projection.{view.value}", Pattern.PREFIXED),
        *writes(DEAD_LETTER_TOPIC),
    )


# Named as in Kubernetes (deploy/k8s/kafka/users.yaml), where names take no "_".
def service_principal(service: str) -> str:
    return f"ip-{service}"


def relay_principal(service: str) -> str:
    return f"ip-{service}-relay"


def view_principal(view: ViewId) -> str:
    return f"ip-view-{view.value.replace('_', '-')}"


def platform_principals() -> dict[str, tuple[Acl, ...]]:
    """Every principal of the platform's own processes, with exactly what it may do."""
    table: dict[str, tuple[Acl, ...]] = {}
    for spec in SERVICE_SPECS:
        table[relay_principal(spec.name)] = writes(spec.topic)
        followed = sorted({reaction.topic for reaction in spec.reactions})
        table[service_principal(spec.name)] = (
            *(acl for topic in followed for acl in reads(topic)),
            *(_group(reaction.name) for reaction in spec.reactions),
            *writes(DEAD_LETTER_TOPIC),
        )
    for view in VIEWS:
        table[view_principal(view)] = _view(view, DOMAIN_TOPICS)
    table[PARTNER_FEED] = (
        *(acl for topic in DOMAIN_TOPICS for acl in reads(topic)),
        _group(FEED_GROUP_PREFIX, Pattern.PREFIXED),
        *writes(PARTNER_TOPIC_PREFIX, Pattern.PREFIXED),
        *writes(DEAD_LETTER_TOPIC),
    )
    return table
