"""The Kubernetes manifests of deploy/k8s: every resource meets its schema, every process,
topic and database of the local stack has its counterpart, and no secret is in them. Each
check is also shown to fail on a copy of the manifests with one thing removed or broken.

The Strimzi CRD schemas are fetched once from Maven Central into .local/cache/ (mvn)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.k8s import validate as v
from deploy.local import run

Doc = dict[str, Any]


@pytest.fixture(scope="module")
def manifests() -> list[v.Manifest]:
    found, problems = v.load_manifests()
    assert problems == []
    return found


@pytest.fixture(scope="module")
def schemas() -> v.SchemaSet:
    return v.SchemaSet(v.fetch_strimzi_schemas(), v.KUBE_VERSION)


@pytest.fixture(scope="module")
def processes() -> list[v.LocalProcess]:
    return v.local_processes()


def changed(
    manifests: list[v.Manifest], kind: str, name: str, change: Callable[[Doc], None]
) -> list[v.Manifest]:
    """A copy of the manifests where ``kind/name`` went through ``change``."""
    out = []
    for m in manifests:
        if m.kind == kind and m.name == name:
            doc = copy.deepcopy(m.doc)
            change(doc)
            m = v.Manifest(m.file, doc)  # noqa: PLW2901  # the changed copy replaces it
        out.append(m)
    assert out != manifests, f"no {kind}/{name} in the manifests"
    return out


def without(manifests: list[v.Manifest], kind: str, name: str) -> list[v.Manifest]:
    out = [m for m in manifests if not (m.kind == kind and m.name == name)]
    assert len(out) == len(manifests) - 1, f"no {kind}/{name} in the manifests"
    return out


def container(doc: Doc, index: int = 0) -> Doc:
    found: Doc = doc["spec"]["template"]["spec"]["containers"][index]
    return found


def env_item(doc: Doc, name: str) -> Doc:
    return next(item for item in container(doc)["env"] if item["name"] == name)


def test_the_whole_validation_passes() -> None:
    report = v.validate()
    assert report.problems == []
    assert len(report.validated) > 40


def test_every_kind_has_its_schema(manifests: list[v.Manifest], schemas: v.SchemaSet) -> None:
    sources = {m.kind: schemas.source(m) for m in manifests}
    assert sources["Deployment"].startswith(f"Kubernetes {v.KUBE_VERSION}")
    assert sources["KafkaTopic"].startswith(f"Strimzi {v.STRIMZI_VERSION} CRD")
    assert "hand-written" in sources["Cluster"]
    kinds = set(sources)
    assert {"Namespace", "ConfigMap", "Deployment", "Service", "PodDisruptionBudget"} <= kinds
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "Cluster"} <= kinds


@pytest.mark.parametrize(
    ("target", "change", "expected"),
    [
        (
            ("Deployment", "intake"),
            lambda d: container(d).update(envv=[]),
            "Additional properties are not allowed ('envv'",
        ),
        (
            ("KafkaTopic", "ip.intake.case.v1"),
            lambda d: d["spec"].update(partitions="six"),
            "spec.partitions: 'six' is not of type 'integer'",
        ),
        (
            ("Kafka", "ip-kafka"),
            lambda d: d["spec"]["kafka"]["listeners"][0]["authentication"].update(type="plain"),
            "'plain' is not one of",
        ),
        (
            ("KafkaUser", "ip-intake"),
            lambda d: d["spec"]["authorization"].update(acl=[]),
            "Additional properties are not allowed ('acl'",
        ),
        (
            ("Cluster", "ip-pg-intake"),
            lambda d: d["spec"].update(instancess=3),
            "Additional properties are not allowed ('instancess'",
        ),
    ],
)
def test_a_schema_refuses_what_its_kind_does_not_have(
    manifests: list[v.Manifest],
    schemas: v.SchemaSet,
    target: tuple[str, str],
    change: Callable[[Doc], None],
    expected: str,
) -> None:
    kind, name = target
    broken = [m for m in changed(manifests, kind, name, change) if m.name == name]
    problems = v.schema_problems(broken, schemas)
    assert len(problems) == 1
    assert f"{kind}/{name}" in problems[0]
    assert expected in problems[0]


def test_every_process_topic_and_database_has_its_counterpart(
    manifests: list[v.Manifest], processes: list[v.LocalProcess]
) -> None:
    assert {p.module for p in processes} >= {
        "services.chassis.relay",
        "services.projections.agency_main",
    }
    assert v.counterpart_problems(manifests, processes) == []
    assert v.secret_problems(manifests) == []


@pytest.mark.parametrize(
    ("kind", "name", "expected"),
    [
        ("Deployment", "intake-relay", "process intake-relay (python -m services.chassis.relay)"),
        (
            "Deployment",
            "view-aa-mg",
            "process view-aa-mg (python -m services.projections.agency_main)",
        ),
        (
            "Deployment",
            "view-steering",
            "process view-steering (python -m services.projections.agency_main)",
        ),
        ("KafkaTopic", "ip.deadletter.v1", "topic ip.deadletter.v1 (contracts.topics."),
        ("Cluster", "ip-pg-proj-aa-mg", "database proj_aa_mg (deploy.local.run.DATABASES)"),
        (
            "Deployment",
            "view-jc-mg",
            "process view-jc_mg (python -m services.projections.agency_main): the local stack "
            "runs it, but no Deployment named view-jc-mg exists",
        ),
        (
            "Cluster",
            "ip-pg-proj-partner-course-provider",
            "database proj_partner_course_provider (deploy.local.run.DATABASES)",
        ),
        ("Service", "view-sozialamt-rkn", "no Service selects its pods on port 8107"),
        ("KafkaUser", "ip-view-abh-mg", "IP_KAFKA_SASL_USERNAME 'ip-view-abh-mg' is no KafkaUser"),
        ("Service", "placement", "no Service selects its pods on port 8004"),
        ("KafkaUser", "ip-language", "IP_KAFKA_SASL_USERNAME 'ip-language' is no KafkaUser"),
        ("Service", "zipkin", "IP_ZIPKIN_ENDPOINT: 'http://zipkin:9411/api/v2/spans' names no"),
    ],
)
def test_a_missing_counterpart_is_reported(
    manifests: list[v.Manifest],
    processes: list[v.LocalProcess],
    kind: str,
    name: str,
    expected: str,
) -> None:
    problems = v.counterpart_problems(without(manifests, kind, name), processes)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "intake-relay",
            lambda d: d["spec"].update(replicas=2),
            "a relay runs as exactly one replica",
        ),
        (
            "intake",
            lambda d: container(d).update(command=["python", "-m", "services.intakes"]),
            "has no container (or several) running python -m services.intake",
        ),
        (
            "language-relay",
            lambda d: env_item(d, "IP_RELAY_NAME").update(value="intake.relay"),
            "IP_RELAY_NAME: 'intake.relay' differs from the local stack's 'language.relay'",
        ),
        (
            "language-relay",
            lambda d: env_item(d, "IP_RELAY_DATABASE_URL").update(
                value=env_item(d, "IP_RELAY_DATABASE_URL")["value"].replace(
                    "ip-pg-language-rw", "ip-pg-intake-rw"
                )
            ),
            "host 'ip-pg-intake-rw', but postgres/clusters.yaml: Cluster/ip-pg-language",
        ),
        (
            "view-aa-mg",
            lambda d: container(d)["env"].remove(env_item(d, "IP_INTAKE_URL")),
            "needs IP_INTAKE_URL, the Deployment does not set it",
        ),
        (
            "view-aa-mg",
            lambda d: env_item(d, "IP_AGENCY_HOST").update(value="127.0.0.1"),
            "IP_AGENCY_HOST must be 0.0.0.0",
        ),
        (
            "placement",
            lambda d: container(d)["readinessProbe"]["httpGet"].update(path="/"),
            "readinessProbe must GET /health on port 8004",
        ),
        (
            "view-aa-mg",
            lambda d: env_item(d, "IP_OIDC_CLIENT_SECRET")["valueFrom"]["secretKeyRef"].update(
                name="ip-oidc-other"
            ),
            "one credential of the local stack comes from different Secret keys",
        ),
        (
            "view-jc-mg",
            lambda d: env_item(d, "IP_AGENCY_VIEW").update(value="jc_rkn"),
            "IP_AGENCY_VIEW: 'jc_rkn' differs from the local stack's 'jc_mg'",
        ),
        (
            "view-jc-mg",
            lambda d: container(d)["env"].remove(env_item(d, "IP_AGENCY_HOST")),
            "IP_AGENCY_HOST must be set to 0.0.0.0 (its default listens on loopback)",
        ),
        (
            "view-partner-iq",
            lambda d: env_item(d, "IP_AGENCY_PORT").update(value="8102"),
            "IP_AGENCY_PORT: '8102' differs from the local stack's '8108'",
        ),
        (
            "view-jc-rkn",
            lambda d: env_item(d, "IP_DB_VIEW").update(
                value=env_item(d, "IP_DB_VIEW")["value"].replace("jc-rkn", "jc-mg")
            ),
            "host 'ip-pg-proj-jc-mg-rw', but postgres/clusters.yaml: Cluster/ip-pg-proj-jc-rkn",
        ),
        (
            "view-abh-mg",
            lambda d: env_item(d, "IP_OIDC_CLIENT_SECRET")["valueFrom"]["secretKeyRef"].update(
                name="ip-oidc-partners-feed"
            ),
            "different credentials of the local stack come from one Secret key "
            "ip-oidc-partners-feed/secret",
        ),
        (
            "web",
            lambda d: env_item(d, "IP_WEB_PUBLIC_URL").update(value="http://web.example.org"),
            "IP_WEB_PUBLIC_URL: 'http://web.example.org': outside the cluster, only over HTTPS",
        ),
        (
            "view-sozialamt-mg",
            lambda d: env_item(d, "IP_TOPIC_PARTITIONS").update(value="12"),
            "IP_TOPIC_PARTITIONS is '12', but the domain topics have [6] partitions",
        ),
        (
            "partners-feed",
            lambda d: env_item(d, "IP_OIDC_CLIENT_SECRET").update(
                value="in-plain-sight", valueFrom=None
            ),
            "IP_OIDC_CLIENT_SECRET: a credential must come from a Secret",
        ),
    ],
)
def test_a_wrong_counterpart_is_reported(
    manifests: list[v.Manifest],
    processes: list[v.LocalProcess],
    name: str,
    change: Callable[[Doc], None],
    expected: str,
) -> None:
    problems = v.counterpart_problems(changed(manifests, "Deployment", name, change), processes)
    assert any(expected in p for p in problems), problems


def test_a_view_counts_the_partitions_the_domain_topics_have(
    manifests: list[v.Manifest], processes: list[v.LocalProcess]
) -> None:
    more = changed(
        manifests, "KafkaTopic", "ip.language.path.v1", lambda d: d["spec"].update(partitions=12)
    )
    problems = v.counterpart_problems(more, processes)
    wrong = [p for p in problems if "IP_TOPIC_PARTITIONS is '6'" in p]
    history_readers = [*run.VIEWS, "partners-feed"]  # steering by its default; the feed too
    assert len(wrong) == len(history_readers), problems
    assert "the domain topics have [6, 12] partitions" in wrong[0]


def test_a_process_name_becomes_a_kubernetes_name(
    manifests: list[v.Manifest], processes: list[v.LocalProcess], schemas: v.SchemaSet
) -> None:
    assert v.kube_name("view-partner_course_provider") == "view-partner-course-provider"
    names = {m.name for m in manifests if m.kind in {"Deployment", "Service"}}
    assert {v.kube_name(p.name) for p in processes if p.http_port is not None} <= names
    as_is = [
        v.Manifest(m.file, {**m.doc, "metadata": {**m.doc["metadata"], "name": "view-jc_mg"}})
        for m in manifests
        if m.kind in {"Deployment", "Service"} and m.name == "view-jc-mg"
    ]
    problems = v.schema_problems(as_is, schemas)
    assert len(problems) == 2, problems
    assert (
        "Deployment/view-jc_mg: metadata.name: 'view-jc_mg' is not a DNS subdomain" in problems[0]
    )
    assert "Service/view-jc_mg: metadata.name: 'view-jc_mg' is not a DNS label" in problems[1]


def test_something_the_local_stack_lacks_is_reported(
    manifests: list[v.Manifest], processes: list[v.LocalProcess]
) -> None:
    intake = next(m for m in manifests if m.kind == "Deployment" and m.name == "intake")
    extra = copy.deepcopy(intake.doc)
    extra["metadata"]["name"] = "intake-batch"
    topic = next(m for m in manifests if m.kind == "KafkaTopic")
    stale = copy.deepcopy(topic.doc)
    stale["metadata"]["name"] = stale["spec"]["topicName"] = "ip.intake.case.v0"
    problems = v.counterpart_problems(
        [*manifests, v.Manifest("x.yaml", extra), v.Manifest("y.yaml", stale)], processes
    )
    assert any(
        "Deployment/intake-batch: runs python -m services.intake, which" in p for p in problems
    )
    assert any(
        "topic ip.intake.case.v0 is not in contracts.topics.ALL_TOPICS" in p for p in problems
    )


@pytest.mark.parametrize(
    ("target", "change", "expected"),
    [
        (
            ("Deployment", "intake"),
            lambda d: env_item(d, "DB_PASSWORD").update(value="hunter2-hunter2", valueFrom=None),
            "IP_DB_INTAKE: the password must be $(VAR) of a variable from Secret ip-db-intake",
        ),
        (
            ("Deployment", "intake-relay"),
            lambda d: env_item(d, "IP_RELAY_DATABASE_URL").update(
                value="postgresql://intake:hunter2@ip-pg-intake-rw:5432/intake"
            ),
            "a URL with a literal password",
        ),
        (
            ("Deployment", "view-aa-mg"),
            lambda d: env_item(d, "IP_OIDC_CLIENT_SECRET").update(value="0123456789abcdef"),
            "IP_OIDC_CLIENT_SECRET: a literal credential",
        ),
        (
            ("ConfigMap", "ip-platform"),
            lambda d: d["data"].update(IP_KAFKA_SASL_PASSWORD="hunter2"),
            "data.IP_KAFKA_SASL_PASSWORD looks like a credential",
        ),
        (
            ("KafkaUser", "ip-intake"),
            lambda d: d["spec"]["authentication"].update(password="hunter2"),
            "spec.authentication.password holds a literal credential",
        ),
    ],
)
def test_a_literal_secret_is_reported(
    manifests: list[v.Manifest],
    processes: list[v.LocalProcess],
    target: tuple[str, str],
    change: Callable[[Doc], None],
    expected: str,
) -> None:
    broken = changed(manifests, *target, change)
    problems = v.secret_problems(broken) + v.counterpart_problems(broken, processes)
    assert any(expected in p for p in problems), problems


def test_a_secret_with_data_or_an_undocumented_one_is_reported(
    manifests: list[v.Manifest], tmp_path: Path
) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ip-db-intake"},
        "stringData": {"username": "intake", "password": "hunter2"},
    }
    problems = v.secret_problems([*manifests, v.Manifest("secret.yaml", secret)])
    assert any("a Secret with data has no place in the repository" in p for p in problems)
    readme = tmp_path / "README.md"
    readme.write_text("Create ip-db-intake and nothing else.\n", encoding="utf-8")
    problems = v.secret_problems(manifests, readme)
    assert any("Secret ip-oidc-view-reader is referenced but README.md" in p for p in problems)
    assert not any("Secret ip-db-intake " in p for p in problems)


def test_an_unlisted_manifest_is_reported(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n")
    found, problems = v.load_manifests(tmp_path)
    assert [m.name for m in found] == ["a"]
    assert problems == ["b.yaml: a manifest that kustomization.yaml does not list"]


def test_the_command_explains_itself(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as leaving:
        v.main(["--help"])
    assert leaving.value.code == 0
    assert "python -m deploy.k8s.validate" in capsys.readouterr().out


def test_the_command_fails_on_a_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [a.yaml]\n", encoding="utf-8")
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {nam: a}\n")
    assert v.main(["--dir", str(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "FAIL  a.yaml: Namespace/?: metadata: Additional properties are not allowed" in err
    assert "process intake (python -m services.intake): the local stack runs it" in err


def _acls(doc: Doc) -> list[Doc]:
    found: list[Doc] = doc["spec"]["authorization"]["acls"]
    return found


@pytest.mark.parametrize(
    ("user", "change", "expected"),
    [
        (
            "ip-view-jc-mg",
            lambda doc: _acls(doc).pop(),  # the dead-letter topic's grant
            "KafkaUser/ip-view-jc-mg: lacks ('topic', 'ip.deadletter.v1', 'literal', 'Write')",
        ),
        (
            "ip-intake-relay",
            lambda doc: _acls(doc).append(
                {"resource": {"type": "topic", "name": "ip.deadletter.v1"}, "operations": ["Read"]}
            ),
            "KafkaUser/ip-intake-relay: grants ('topic', 'ip.deadletter.v1', 'literal', 'Read'),"
            " which the code does not need",
        ),
        (
            "ip-view-steering",
            lambda doc: _acls(doc)[4]["resource"].update(patternType="literal"),
            "KafkaUser/ip-view-steering: lacks ('group', 'projection.steering', 'prefix', 'Read')",
        ),
    ],
)
def test_a_kafka_user_granting_other_than_the_code_needs_is_reported(
    manifests: list[v.Manifest], user: str, change: Callable[[Doc], None], expected: str
) -> None:
    assert v.acl_problems([m for m in manifests if m.kind == "KafkaUser"]) == []
    broken = changed(manifests, "KafkaUser", user, change)
    problems = v.acl_problems([m for m in broken if m.kind == "KafkaUser"])
    assert f"kafka/users.yaml: {expected}" in problems, problems


def test_a_principal_without_kafka_user_is_reported(manifests: list[v.Manifest]) -> None:
    users = [m for m in manifests if m.kind == "KafkaUser" and m.name != "ip-partners-feed"]
    assert v.acl_problems(users) == [
        "principal ip-partners-feed (deploy.local.principals) has no KafkaUser"
    ]
