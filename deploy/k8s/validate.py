"""Validate the Kubernetes manifests of ``deploy/k8s`` offline: ``python -m deploy.k8s.validate``.

Three kinds of check, each problem reported on a line of its own (exit status 1):

1. **Schemas.** Every resource the kustomization lists is validated against a JSON schema,
   strictly (an unknown field is an error, as ``kubeconform -strict`` would say):
   Kubernetes' own kinds against the schemas the ``kubernetes-validate`` package ships;
   Strimzi's ``Kafka``, ``KafkaNodePool``, ``KafkaTopic`` and ``KafkaUser`` against the
   ``openAPIV3Schema`` of their CRDs, taken from the ``io.strimzi:api`` tests jar on Maven
   Central (fetched once with ``mvn dependency:copy`` into ``.local/cache/``); CloudNativePG's
   ``Cluster`` against ``schemas/cnpg-cluster-v1.schema.json``, a hand-written subset, since no
   reachable registry ships its CRD.
2. **Counterparts.** Every process ``make run`` starts (``deploy.local.run._platform``) has a
   Deployment of the same name running the same ``python -m`` module, with the settings that
   process reads, pointing at the right database, Kafka user and Services; every topic of
   ``contracts.topics.ALL_TOPICS`` has a KafkaTopic and every database of
   ``deploy.local.run.DATABASES`` a CloudNativePG Cluster; and nothing the local stack lacks.
3. **Secrets.** No ``Secret`` with data, no literal password, token or credential-bearing DSN:
   credentials only come from Secrets by reference, and every Secret that no operator writes is
   documented in ``README.md``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import yaml
from pydantic import AliasChoices
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from contracts.topics import ALL_TOPICS, DOMAIN_TOPICS
from deploy.local import devstack, run
from deploy.local.identity_provider import SERVICE_CLIENTS, Provider
from deploy.local.principals import platform_principals
from services.chassis.kafka_admin import Acl, Pattern

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CACHE_DIR = REPO / ".local" / "cache"

KUBE_VERSION = "1.33"  # the Kubernetes version whose schemas the core kinds must meet
STRIMZI_VERSION = "0.51.0"  # whose CRDs (API kafka.strimzi.io/v1) the Strimzi resources meet
STRIMZI_ARTIFACT = f"io.strimzi:api:{STRIMZI_VERSION}:jar:tests"
STRIMZI_API = "kafka.strimzi.io/v1"
STRIMZI_CRDS = {  # kind -> the generated CRD inside the tests jar (crds/v1: API v1 only)
    "Kafka": "crds/v1/040-Crd-kafka.yaml",
    "KafkaTopic": "crds/v1/043-Crd-kafkatopic.yaml",
    "KafkaUser": "crds/v1/044-Crd-kafkauser.yaml",
    "KafkaNodePool": "crds/v1/045-Crd-kafkanodepool.yaml",
}
CNPG_API = "postgresql.cnpg.io/v1"
CNPG_SCHEMA = HERE / "schemas" / "cnpg-cluster-v1.schema.json"
FETCH_TIMEOUT_S = 300.0

RELAY_MODULE = "services.chassis.relay"  # one per database: it holds an advisory lock
REQUIRED_EVERYWHERE = ("IP_KAFKA_BOOTSTRAP", "IP_TRACE_EXPORTER", "IP_ZIPKIN_ENDPOINT")
TOPIC_PARTITIONS = 6
REPLICATION = 3
MIN_INSYNC = 2
# Stand-ins handed to ``_platform``: whatever carries them locally is a secret in the cluster.
SECRET_SENTINEL = "secret-sentinel-of-deploy-k8s-validate"  # noqa: S105  # not a credential
CREDENTIAL_NAME = re.compile(r"(PASSWORD|PASSWD|TOKEN|SECRET|CREDENTIAL)(?!_URL)", re.I)
# URLs outside the cluster: the agencies' OpenID Connect provider, and where browsers reach the
# web. They must be HTTPS; no Service of the manifests serves them.
EXTERNAL_URLS = frozenset(
    {"IP_OIDC_ISSUER", "IP_OIDC_JWKS_URL", "IP_OIDC_TOKEN_URL", "IP_WEB_PUBLIC_URL"}
)
CREDENTIAL_KEY = re.compile(r"(password|passwd|token|secret|apikey|api_key|credentials?)$", re.I)
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")  # RFC 1035: what a Service is named
PLAIN_VALUE = re.compile(r"^[\w.\-]+$")
# A process that computes a case's partition itself (to read a case's history back from one
# partition per topic) must count as many partitions as the domain topics have.
PARTITIONS_SETTING = "IP_TOPIC_PARTITIONS"


class FetchError(Exception):
    """A schema source could not be fetched (no Maven, no network, unexpected jar)."""


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Manifest:
    """One resource of one manifest file (a file may hold several, separated by ``---``)."""

    file: str  # relative to the manifests directory
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc.get("kind", "?"))

    @property
    def api_version(self) -> str:
        return str(self.doc.get("apiVersion", "?"))

    @property
    def name(self) -> str:
        metadata = self.doc.get("metadata")
        return str(metadata.get("name", "?")) if isinstance(metadata, dict) else "?"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.get("spec")
        return spec if isinstance(spec, dict) else {}

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}/{self.name}"


def load_manifests(root: Path = HERE) -> tuple[list[Manifest], list[str]]:
    """The resources ``kustomization.yaml`` lists, and the problems found while loading them
    (a file missing, unparsable, or present in the tree but not listed)."""
    problems: list[str] = []
    kustomization = root / "kustomization.yaml"
    try:
        listed = yaml.safe_load(kustomization.read_text(encoding="utf-8")).get("resources", [])
    except (OSError, yaml.YAMLError, AttributeError) as error:
        return [], [f"{kustomization}: cannot read the resources it lists: {error}"]
    manifests: list[Manifest] = []
    for entry in listed:
        path = root / str(entry)
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as error:
            problems.append(f"{entry}: cannot be read: {error}")
            continue
        for doc in docs:
            if doc is None:
                continue  # a comment-only block
            if not isinstance(doc, dict):
                problems.append(f"{entry}: a document that is not a mapping: {doc!r:.60}")
                continue
            manifests.append(Manifest(str(entry), doc))
    on_disk = {
        str(path.relative_to(root))
        for pattern in ("*.yaml", "*.yml")
        for path in root.rglob(pattern)
        if path.name != "kustomization.yaml" and "schemas" not in path.relative_to(root).parts
    }
    problems.extend(
        f"{path}: a manifest that kustomization.yaml does not list"
        for path in sorted(on_disk - {str(entry) for entry in listed})
    )
    return manifests, problems


# --------------------------------------------------------------------------------------------
# 1. Schemas
# --------------------------------------------------------------------------------------------


def strimzi_schema_dir(cache_dir: Path) -> Path:
    return cache_dir / f"strimzi-crds-{STRIMZI_VERSION}"


def fetch_strimzi_schemas(cache_dir: Path = DEFAULT_CACHE_DIR, *, fetch: bool = True) -> Path:
    """The ``openAPIV3Schema`` (API v1) of Strimzi's CRDs as JSON files, one per kind.

    Taken from the CRDs the Strimzi build generates into its ``io.strimzi:api`` tests jar on
    Maven Central; copied once with ``mvn dependency:copy`` and kept in ``cache_dir``.
    """
    target = strimzi_schema_dir(cache_dir)
    if all((target / f"{kind}.json").is_file() for kind in STRIMZI_CRDS):
        return target
    if not fetch:
        raise FetchError(f"not in {target} yet, and fetching was ruled out")
    mvn = shutil.which("mvn")
    if mvn is None:
        raise FetchError(
            "Maven (`mvn`) is needed once to fetch Strimzi's CRDs from Maven Central "
            f"({STRIMZI_ARTIFACT}); install it (e.g. `apt-get install maven`)"
        )
    staging = cache_dir / f"{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        try:
            proc = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "dependency:copy",
                    f"-Dartifact={STRIMZI_ARTIFACT}",
                    f"-DoutputDirectory={staging}",
                ],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=FETCH_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise FetchError(
                f"fetching {STRIMZI_ARTIFACT} took over {FETCH_TIMEOUT_S:.0f} s"
            ) from error
        jars = sorted(staging.glob("*.jar"))
        if proc.returncode != 0 or len(jars) != 1:
            raise FetchError(
                f"`mvn dependency:copy -Dartifact={STRIMZI_ARTIFACT}` failed "
                f"({proc.returncode}): {(proc.stdout + proc.stderr)[-2000:]}"
            )
        with zipfile.ZipFile(jars[0]) as jar:
            for kind, member in STRIMZI_CRDS.items():
                crd = yaml.load(jar.read(member), Loader=_YAML_LOADER)  # noqa: S506  # safe loader
                schema = _crd_schema(crd, version="v1")
                (staging / f"{kind}.json").write_text(json.dumps(schema), encoding="utf-8")
        jars[0].unlink()
        shutil.rmtree(target, ignore_errors=True)
        staging.replace(target)
    except (KeyError, ValueError, yaml.YAMLError, zipfile.BadZipFile) as error:
        raise FetchError(f"{STRIMZI_ARTIFACT} does not hold the expected CRDs: {error}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _crd_schema(crd: Mapping[str, Any], *, version: str) -> dict[str, Any]:
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            schema: dict[str, Any] = served["schema"]["openAPIV3Schema"]
            return schema
    raise ValueError(f"CRD {crd['metadata']['name']} serves no version {version}")


def closed(schema: Any) -> Any:
    """An OpenAPI v3 schema of a CRD as a strict JSON schema: an object that lists its
    properties accepts no others (the API server would silently prune them), and ``nullable``
    becomes a ``null`` type. Objects that preserve unknown fields stay open."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if isinstance(schema.get("properties"), dict):
        out["properties"] = {name: closed(sub) for name, sub in schema["properties"].items()}
    for keyword in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(keyword), dict):
            out[keyword] = closed(schema[keyword])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(keyword), list):
            out[keyword] = closed(schema[keyword])
    if (
        schema.get("type") == "object"
        and "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if schema.get("nullable") is True and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    return out


@dataclass
class SchemaSet:
    """Where each kind's schema comes from, loaded once."""

    strimzi_dir: Path | None
    kube_version: str = KUBE_VERSION
    _validators: dict[str, jsonschema.protocols.Validator] = field(default_factory=dict)

    def source(self, manifest: Manifest) -> str:
        if manifest.api_version == STRIMZI_API and manifest.kind in STRIMZI_CRDS:
            return f"Strimzi {STRIMZI_VERSION} CRD {manifest.kind} ({STRIMZI_API})"
        if manifest.api_version == CNPG_API and manifest.kind == "Cluster":
            return f"{CNPG_SCHEMA.relative_to(REPO)} (hand-written subset)"
        return f"Kubernetes {self.kube_version} (kubernetes-validate, strict)"

    def problems(self, manifest: Manifest) -> list[str]:
        if manifest.api_version == STRIMZI_API and manifest.kind in STRIMZI_CRDS:
            if self.strimzi_dir is None:
                return ["Strimzi's CRD schemas are not available (see the fetch error above)"]
            validator = self._validator(
                manifest.kind, lambda: closed(self._strimzi_schema(manifest.kind))
            )
            return [*_metadata_problems(manifest.doc), *_errors(validator, manifest.doc)]
        if manifest.api_version == CNPG_API and manifest.kind == "Cluster":
            validator = self._validator(
                "cnpg.Cluster",
                lambda: json.loads(CNPG_SCHEMA.read_text(encoding="utf-8")),
                check=True,
            )
            return _errors(validator, manifest.doc)
        group = manifest.api_version.rpartition("/")[0]
        if "." in group and group not in _CORE_GROUPS:
            return [f"no schema is known for {manifest.api_version} {manifest.kind}"]
        return self._core_problems(manifest)

    def _core_problems(self, manifest: Manifest) -> list[str]:
        try:
            kubernetes_validate.validate(manifest.doc, self.kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path) or "(top)"
            return [f"{where}: {error.message}"]
        except (
            kubernetes_validate.SchemaNotFoundError,
            kubernetes_validate.InvalidSchemaError,
        ) as e:
            return [e.message]
        return _name_problems(manifest)

    def _strimzi_schema(self, kind: str) -> Any:
        assert self.strimzi_dir is not None
        return json.loads((self.strimzi_dir / f"{kind}.json").read_text(encoding="utf-8"))

    def _validator(
        self, key: str, load: Any, *, check: bool = False
    ) -> jsonschema.protocols.Validator:
        """A validator built once; ``check`` the schema itself where it is hand-written (the
        CRDs are the API server's own, and checking the Kafka one costs most of a second)."""
        if key not in self._validators:
            schema = load()
            cls = jsonschema.validators.validator_for(
                schema, default=jsonschema.Draft202012Validator
            )
            if check:
                cls.check_schema(schema)
            self._validators[key] = cls(schema)
        return self._validators[key]


_CORE_GROUPS = {"networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io"}


def _errors(validator: jsonschema.protocols.Validator, doc: Any) -> list[str]:
    found = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in found
    ]


def _name_problems(manifest: Manifest) -> list[str]:
    """The schemas take any string as a name; the API server does not: a Service (whose name
    becomes a DNS label) needs an RFC 1035 label, everything else a DNS subdomain name."""
    name = manifest.name
    if manifest.kind == "Service":
        if DNS_LABEL.match(name) and len(name) <= 63:
            return []
        return [f"metadata.name: {name!r} is not a DNS label (RFC 1035), as a Service needs"]
    if DNS_SUBDOMAIN.match(name) and len(name) <= 253:
        return []
    return [f"metadata.name: {name!r} is not a DNS subdomain name"]


def _metadata_problems(doc: Mapping[str, Any]) -> list[str]:
    """A CRD's schema leaves ``metadata`` open; the API server does not."""
    metadata = doc.get("metadata")
    if not isinstance(metadata, dict):
        return ["metadata: missing"]
    problems = []
    name = metadata.get("name")
    if not isinstance(name, str) or not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        problems.append(f"metadata.name: {name!r} is not a DNS subdomain name")
    for key in ("labels", "annotations"):
        values = metadata.get(key, {})
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            problems.append(f"metadata.{key}: must map strings to strings")
    extra = set(metadata) - {"name", "namespace", "labels", "annotations"}
    problems.extend(f"metadata.{key}: not expected in a manifest" for key in sorted(extra))
    return problems


def schema_problems(manifests: Sequence[Manifest], schemas: SchemaSet) -> list[str]:
    return [f"{m}: {problem}" for m in manifests for problem in schemas.problems(m)]


# --------------------------------------------------------------------------------------------
# 2. Counterparts of the local stack
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LocalProcess:
    """A process ``make run`` starts, as ``deploy.local.run`` describes it."""

    name: str
    module: str
    env: dict[str, str]
    http_port: int | None


def kube_name(process: str) -> str:
    """The name of a local process's Deployment (and Service): Kubernetes names take no
    ``_``, so ``view-jc_mg`` runs as ``view-jc-mg``."""
    return process.replace("_", "-")


def local_processes() -> list[LocalProcess]:
    """Every platform process of the local stack, from ``deploy.local.run._platform`` itself
    (called with stand-in addresses and credentials; it starts nothing)."""
    info = devstack.StackInfo(
        kafka_bootstrap="127.0.0.1:1",
        admin_dsn=f"postgresql://admin:{SECRET_SENTINEL}@127.0.0.1:1/postgres",
        database_dsns={
            name: f"postgresql://{name}:{SECRET_SENTINEL}@127.0.0.1:1/{name}"
            for name in run.DATABASES
        },
        kafka_users={name: f"{SECRET_SENTINEL}-{name}" for name in platform_principals()},
        identity=Provider(
            "http://127.0.0.1:1",
            SECRET_SENTINEL,
            {client: f"{SECRET_SENTINEL}-oidc-{client}" for client in SERVICE_CLIENTS},
        ),
    )
    processes = run._platform(run.RunConfig(), info)
    return [
        LocalProcess(
            p.name,
            p.module,
            dict(p.env),
            urlsplit(p.health_url).port if p.health_url else None,
        )
        for p in processes
    ]


def settings_env_names(module: str) -> set[str]:
    """The environment variables the settings class of ``python -m module`` reads: from
    ``<module>.settings`` for a service package, else from the module itself."""
    return set(settings_fields(module))


def settings_fields(module: str) -> dict[str, FieldInfo]:
    """:func:`settings_env_names`, each with the field it sets (its default, its type)."""
    for candidate in (f"{module}.settings", module):
        try:
            namespace = vars(importlib.import_module(candidate))
        except ModuleNotFoundError as error:
            if error.name is not None and candidate.startswith(error.name):
                continue
            raise
        classes = [
            value
            for value in namespace.values()
            if isinstance(value, type)
            and issubclass(value, BaseSettings)
            and value is not BaseSettings
        ]
        leaves = [c for c in classes if not any(o is not c and issubclass(o, c) for o in classes)]
        if leaves:
            return {
                name: info
                for cls in leaves
                for field_name, info in cls.model_fields.items()
                for name in _env_names(cls, field_name, info)
            }
    raise LookupError(f"no settings class found for python -m {module}")


def _env_names(cls: type[BaseSettings], name: str, info: FieldInfo) -> Iterator[str]:
    alias = info.validation_alias
    if isinstance(alias, str):
        yield alias.upper()
    elif isinstance(alias, AliasChoices):
        yield from (choice.upper() for choice in alias.choices if isinstance(choice, str))
    else:
        yield f"{cls.model_config.get('env_prefix') or ''}{name}".upper()


@dataclass(frozen=True)
class EnvVar:
    """One variable of a container's environment, as the manifests define it."""

    name: str
    value: str | None = None  # a literal value (may hold $(VAR) references)
    secret: tuple[str, str] | None = None  # (Secret name, key)


def container_env(
    container: Mapping[str, Any], configmaps: Mapping[str, Mapping[str, Any]]
) -> tuple[list[EnvVar], list[str]]:
    """A container's environment in the order Kubernetes builds it (envFrom first), and the
    problems of resolving it."""
    out: list[EnvVar] = []
    problems: list[str] = []
    for source in container.get("envFrom") or []:
        ref = (source.get("configMapRef") or {}).get("name")
        if ref is None:
            problems.append(f"envFrom {source}: only configMapRef is expected")
        elif ref not in configmaps:
            problems.append(f"envFrom: ConfigMap {ref} is not in the manifests")
        else:
            data = configmaps[ref].get("data") or {}
            out.extend(EnvVar(str(k), str(v)) for k, v in data.items())
    for item in container.get("env") or []:
        name = str(item.get("name"))
        if "value" in item:
            out.append(EnvVar(name, str(item["value"])))
            continue
        ref = (item.get("valueFrom") or {}).get("secretKeyRef")
        if isinstance(ref, dict):
            out.append(EnvVar(name, secret=(str(ref.get("name")), str(ref.get("key")))))
        else:
            out.append(EnvVar(name))
    return out, problems


def _deployments(manifests: Sequence[Manifest]) -> dict[str, Manifest]:
    return {m.name: m for m in manifests if m.kind == "Deployment"}


def _pod(deployment: Manifest) -> dict[str, Any]:
    pod: dict[str, Any] = deployment.spec.get("template", {}).get("spec", {})
    return pod


def _python_module(container: Mapping[str, Any]) -> str | None:
    argv = [*(container.get("command") or []), *(container.get("args") or [])]
    if len(argv) == 3 and argv[0] in {"python", "python3"} and argv[1] == "-m":
        return str(argv[2])
    return None


@dataclass
class Platform:
    """The manifests, indexed for the counterpart checks."""

    manifests: Sequence[Manifest]

    def __post_init__(self) -> None:
        by_kind: dict[str, list[Manifest]] = {}
        for m in self.manifests:
            by_kind.setdefault(m.kind, []).append(m)
        self.by_kind = by_kind
        self.configmaps = {m.name: m.doc for m in by_kind.get("ConfigMap", [])}
        self.services = {m.name: m for m in by_kind.get("Service", [])}
        self.kafka_users = {m.name for m in by_kind.get("KafkaUser", [])}
        self.clusters = {
            m.spec.get("bootstrap", {}).get("initdb", {}).get("database"): m
            for m in by_kind.get("Cluster", [])
        }

    def kinds(self, kind: str) -> list[Manifest]:
        return self.by_kind.get(kind, [])

    def kafka_bootstraps(self) -> set[str]:
        """``host:port`` of every listener of every Kafka (Strimzi's bootstrap Service)."""
        return {
            f"{kafka.name}-kafka-bootstrap:{listener.get('port')}"
            for kafka in self.kinds("Kafka")
            for listener in kafka.spec.get("kafka", {}).get("listeners", [])
        }

    def operator_secrets(self) -> set[str]:
        """Secrets the operators write: users' passwords, cluster CAs."""
        names = set(self.kafka_users)
        names.update(f"{k.name}-cluster-ca-cert" for k in self.kinds("Kafka"))
        names.update(f"{c.name}-ca" for c in self.kinds("Cluster"))
        return names


def counterpart_problems(
    manifests: Sequence[Manifest],
    processes: Sequence[LocalProcess] | None = None,
    topics: Sequence[str] = ALL_TOPICS,
    databases: Sequence[str] = run.DATABASES,
) -> list[str]:
    """What the local stack has and the manifests lack (or get wrong), and the reverse."""
    platform = Platform(manifests)
    processes = local_processes() if processes is None else processes
    problems: list[str] = []
    deployments = _deployments(manifests)
    for process in processes:
        deployment = deployments.get(kube_name(process.name))
        problems.extend(_process_problems(platform, deployment, process))
    known = {kube_name(p.name) for p in processes}
    for name, deployment in deployments.items():
        for container in _pod(deployment).get("containers", []):
            module = _python_module(container)
            if module is not None and name not in known:
                problems.append(
                    f"{deployment}: runs python -m {module}, which the local stack does not start"
                )
    problems.extend(_shared_secret_problems(platform, deployments, processes))
    problems.extend(_kafka_problems(platform, topics))
    problems.extend(_partition_problems(platform, deployments, processes))
    problems.extend(_database_problems(platform, databases))
    problems.extend(acl_problems(platform.kinds("KafkaUser")))
    for deployment in deployments.values():
        problems.extend(_selector_problems(platform, deployment))
    return problems


def _process_problems(
    platform: Platform, deployment: Manifest | None, process: LocalProcess
) -> list[str]:
    what = f"process {process.name} (python -m {process.module})"
    name = kube_name(process.name)
    if not DNS_LABEL.match(name) or len(name) > 63:
        return [f"{what}: {name!r} cannot name a Deployment and its Service (RFC 1035 label)"]
    if deployment is None:
        return [f"{what}: the local stack runs it, but no Deployment named {name} exists"]
    containers = [
        c for c in _pod(deployment).get("containers", []) if _python_module(c) == process.module
    ]
    if len(containers) != 1:
        return [f"{deployment}: has no container (or several) running python -m {process.module}"]
    container = containers[0]
    env_list, problems = container_env(container, platform.configmaps)
    problems = [f"{deployment}: {p}" for p in problems]
    env = {var.name: var for var in env_list}
    try:
        readable = settings_env_names(process.module)
    except LookupError as error:
        return [*problems, f"{deployment}: {error}"]
    local = {name for name in process.env if name in readable}
    required = local | set(REQUIRED_EVERYWHERE)
    for name in sorted(required):
        if name not in env:
            problems.append(f"{deployment}: {what} needs {name}, the Deployment does not set it")
            continue
        problem = _value_problem(platform, env_list, env[name], process.env.get(name))
        if problem:
            problems.append(f"{deployment}: {name}: {problem}")
    if "IP_TRACE_EXPORTER" in env and env["IP_TRACE_EXPORTER"].value != "zipkin":
        problems.append(f"{deployment}: IP_TRACE_EXPORTER must be zipkin")
    problems.extend(f"{deployment}: {p}" for p in _host_problems(readable, env, process))
    if "IP_KAFKA_BOOTSTRAP" in process.env:  # a process that never talks to Kafka has no user
        problems.extend(_kafka_auth_problems(platform, deployment, env))
    if process.module == RELAY_MODULE and deployment.spec.get("replicas") != 1:
        problems.append(
            f"{deployment}: a relay runs as exactly one replica (it holds an advisory lock)"
        )
    if process.http_port is not None:
        problems.extend(
            f"{deployment}: {p}" for p in _http_problems(platform, deployment, container, process)
        )
    return problems


def _host_problems(
    readable: set[str], env: Mapping[str, EnvVar], process: LocalProcess
) -> list[str]:
    """A listener's host is the pod's address: set where it serves HTTP (the settings'
    defaults listen on loopback), never loopback where it is set."""
    problems = []
    for name in sorted(n for n in readable if n.endswith("_HOST")):
        if name in env and env[name].value not in {"0.0.0.0", "::"}:  # noqa: S104
            problems.append(f"{name} must be 0.0.0.0 to be reachable in the pod")
        elif name not in env and process.http_port is not None:
            problems.append(f"{name} must be set to 0.0.0.0 (its default listens on loopback)")
    return problems


def _partition_problems(
    platform: Platform, deployments: Mapping[str, Manifest], processes: Sequence[LocalProcess]
) -> list[str]:
    """A process that reads back a case's history from one partition per domain topic
    computes that partition itself: it must count the partitions the domain topics have."""
    by_topic = {str(t.spec.get("topicName", t.name)): t for t in platform.kinds("KafkaTopic")}
    counts = {by_topic[t].spec.get("partitions") for t in DOMAIN_TOPICS if t in by_topic}
    problems = []
    for process in processes:
        deployment = deployments.get(kube_name(process.name))
        try:
            setting = settings_fields(process.module).get(PARTITIONS_SETTING)
        except LookupError:
            continue
        if deployment is None or setting is None:
            continue
        for container in _pod(deployment).get("containers", []):
            if _python_module(container) != process.module:
                continue
            env_list, _ = container_env(container, platform.configmaps)
            value = next(
                (v.value for v in reversed(env_list) if v.name == PARTITIONS_SETTING),
                str(setting.default),
            )
            if not (value or "").isdigit() or counts != {int(value or 0)}:
                have = sorted(counts, key=lambda c: f"{c!s:>12}")  # numbers in order
                problems.append(
                    f"{deployment}: {PARTITIONS_SETTING} is {value!r}, but the domain topics "
                    f"have {have} partitions: it would read a case's history from the wrong "
                    "partition"
                )
    return problems


def _shared_secret_problems(
    platform: Platform, deployments: Mapping[str, Manifest], processes: Sequence[LocalProcess]
) -> list[str]:
    """Each credential the local stack hands out comes from one and the same Secret key in
    every process that gets it (the views' client secret at the provider), and two different
    credentials never from the same key (the feed's client is not the views'). A
    JSON object of credentials (intake's key readers) is compared entry by entry, and must
    have the local stack's entries."""
    problems: list[str] = []
    keys_of: dict[str, dict[tuple[str, str], list[str]]] = {}  # local credential -> its keys
    for process in processes:
        deployment = deployments.get(kube_name(process.name))
        containers = [] if deployment is None else _pod(deployment).get("containers", [])
        for container in containers:
            if _python_module(container) != process.module:
                continue
            env_list, _ = container_env(container, platform.configmaps)
            env = {var.name: var for var in env_list}
            for name, local in process.env.items():
                if SECRET_SENTINEL not in local or "://" in local or name not in env:
                    continue
                leaves, missing = _credential_leaves(env_list, env[name], local)
                problems.extend(f"{deployment}: {name}: {problem}" for problem in missing)
                for entry, (credential, secret_keys) in leaves.items():
                    for ref in secret_keys:
                        who = f"{process.name} {name}{entry}"
                        keys_of.setdefault(credential, {}).setdefault(ref, []).append(who)
    problems.extend(
        "one credential of the local stack comes from different Secret keys: "
        + "; ".join(f"{secret}/{key} for {', '.join(who)}" for (secret, key), who in refs.items())
        for refs in keys_of.values()
        if len(refs) > 1
    )
    credentials_of: dict[tuple[str, str], list[str]] = {}
    for by_key in keys_of.values():
        for ref, users in by_key.items():
            credentials_of.setdefault(ref, []).append(", ".join(users))
    problems.extend(
        f"different credentials of the local stack come from one Secret key {secret}/{key}: "
        + "; ".join(who)
        for (secret, key), who in credentials_of.items()
        if len(who) > 1
    )
    return problems


def _credential_leaves(
    env_list: Sequence[EnvVar], var: EnvVar, local: str
) -> tuple[dict[str, tuple[str, set[tuple[str, str]]]], list[str]]:
    """The credentials a variable carries, each with the Secret keys its value comes from:
    one, or one per entry where the local value is a JSON object; and the entries the
    Deployment's object lacks or has beyond the local one."""
    try:
        local_object = json.loads(local)
    except ValueError:
        local_object = None
    if not isinstance(local_object, dict):
        return {"": (local, _secret_refs(env_list, var))}, []
    try:
        ours = json.loads(var.value or "")
    except ValueError:
        ours = None
    if not isinstance(ours, dict):
        return {}, ["must be a JSON object, as the local stack's is"]
    leaves: dict[str, tuple[str, set[tuple[str, str]]]] = {}
    for entry, credential in local_object.items():
        if entry not in ours:
            continue
        ref = VAR_REF.fullmatch(str(ours[entry]))
        source = _defined_before(env_list, var, ref.group(1)) if ref else None
        secret = {source.secret} if source is not None and source.secret is not None else set()
        leaves[f"[{entry}]"] = (str(credential), secret)
    missing = [
        f"entry {entry!r} of the local stack is missing"
        for entry in local_object
        if entry not in ours
    ]
    missing.extend(
        f"entry {entry!r} is not in the local stack's"
        for entry in ours
        if entry not in local_object
    )
    return leaves, missing


def _secret_refs(env_list: Sequence[EnvVar], var: EnvVar) -> set[tuple[str, str]]:
    """The Secret keys a variable's value comes from, directly or through $(VAR)."""
    if var.secret is not None:
        return {var.secret}
    refs = set()
    for name in VAR_REF.findall(var.value or ""):
        source = _defined_before(env_list, var, name)
        if source is not None and source.secret is not None:
            refs.add(source.secret)
    return refs


def _value_problem(
    platform: Platform, env_list: Sequence[EnvVar], var: EnvVar, local: str | None
) -> str | None:
    """Whether the Deployment's value of a variable matches what the local process gets."""
    if var.name == "IP_KAFKA_BOOTSTRAP":
        bootstraps = platform.kafka_bootstraps()
        if var.value in bootstraps:
            return None
        return f"{var.value!r} is no listener of the Kafka ({', '.join(sorted(bootstraps))})"
    problem = None
    if var.name in EXTERNAL_URLS:
        if not (var.value or "").startswith("https://"):
            problem = f"{var.value!r}: outside the cluster, only over HTTPS"
    elif local is None:
        if (var.value or "").startswith(("http://", "https://")):
            problem = _url_problem(platform, var.value, None)
    elif local.startswith("postgresql://"):
        problem = _dsn_problem(platform, env_list, var, urlsplit(local))
    elif local.startswith(("http://", "https://")):
        problem = _url_problem(platform, var.value, urlsplit(local))
    elif SECRET_SENTINEL in local:
        problem = None if _from_secret(env_list, var) else "a credential must come from a Secret"
    elif PLAIN_VALUE.match(local) and var.value != local:
        problem = f"{var.value!r} differs from the local stack's {local!r}"
    return problem


def _dsn_problem(
    platform: Platform, env_list: Sequence[EnvVar], var: EnvVar, local: SplitResult
) -> str | None:
    if var.value is None or not var.value.startswith("postgresql://"):
        return "must be a postgresql:// DSN"
    dsn = urlsplit(var.value)
    database = local.path.lstrip("/")
    cluster = platform.clusters.get(database)
    if cluster is None:
        return f"no CloudNativePG Cluster bootstraps database {database}"
    initdb = cluster.spec["bootstrap"]["initdb"]
    expected = {
        "database": (dsn.path.lstrip("/"), database),
        "host": (dsn.hostname, f"{cluster.name}-rw"),
        "user": (dsn.username, initdb.get("owner")),
    }
    for what, (got, want) in expected.items():
        if got != want:
            return f"{what} {got!r}, but {cluster} serves it as {want!r}"
    secret = (initdb.get("secret") or {}).get("name")
    ref = VAR_REF.fullmatch(dsn.password or "")
    source = _defined_before(env_list, var, ref.group(1)) if ref else None
    if source is None or source.secret != (secret, "password"):
        return f"the password must be $(VAR) of a variable from Secret {secret}, key password"
    return None


def _url_problem(platform: Platform, value: str | None, local: SplitResult | None) -> str | None:
    """A URL must name a Service of the manifests and one of its ports (and, where the local
    stack has the same setting, the same path)."""
    url = urlsplit(value or "")
    service = platform.services.get(url.hostname or "")
    if service is None:
        return f"{value!r} names no Service of the manifests"
    ports = {p.get("port") for p in service.spec.get("ports", [])}
    if url.port not in ports:
        return f"{value!r}: Service {service.name} has no port {url.port}"
    if local is not None and url.path.rstrip("/") != local.path.rstrip("/"):
        return f"path {url.path!r} differs from the local stack's {local.path!r}"
    return None


def _defined_before(env_list: Sequence[EnvVar], var: EnvVar, name: str) -> EnvVar | None:
    """The variable ``name`` if it is defined before ``var`` (only then does $(name) expand)."""
    found = None
    for item in env_list:
        if item is var:
            return found
        if item.name == name:
            found = item
    return None


def _from_secret(env_list: Sequence[EnvVar], var: EnvVar) -> bool:
    """Whether ``var`` comes from a Secret: by reference, or as a literal whose every leaf is
    one $(VAR) of a variable from a Secret (a JSON object of such values counts too)."""
    if var.secret is not None:
        return True
    if var.value is None:
        return False
    try:
        parsed = json.loads(var.value)
    except ValueError:
        parsed = var.value
    leaves = list(parsed.values()) if isinstance(parsed, dict) else [parsed]
    for leaf in leaves:
        ref = VAR_REF.fullmatch(str(leaf))
        source = _defined_before(env_list, var, ref.group(1)) if ref else None
        if source is None or source.secret is None:
            return False
    return bool(leaves)


def _kafka_auth_problems(
    platform: Platform, deployment: Manifest, env: Mapping[str, EnvVar]
) -> list[str]:
    """Every listener authenticates, so every process needs its own KafkaUser's password."""
    user = env.get("IP_KAFKA_SASL_USERNAME")
    password = env.get("IP_KAFKA_SASL_PASSWORD")
    if user is None or password is None:
        return [f"{deployment}: needs IP_KAFKA_SASL_USERNAME and IP_KAFKA_SASL_PASSWORD"]
    if user.value not in platform.kafka_users:
        return [f"{deployment}: IP_KAFKA_SASL_USERNAME {user.value!r} is no KafkaUser"]
    if password.secret != (user.value, "password"):
        return [
            f"{deployment}: IP_KAFKA_SASL_PASSWORD must come from Secret {user.value}, key "
            "password (which Strimzi's user operator writes)"
        ]
    return []


def _container_port(container: Mapping[str, Any], port: Any) -> int | None:
    if isinstance(port, int):
        return port
    for item in container.get("ports", []):
        if item.get("name") == port:
            return int(item["containerPort"])
    return None


def _http_problems(
    platform: Platform,
    deployment: Manifest,
    container: Mapping[str, Any],
    process: LocalProcess,
) -> list[str]:
    problems = []
    port = process.http_port
    if port not in {p.get("containerPort") for p in container.get("ports", [])}:
        problems.append(f"the container does not declare port {port}")
    for probe in ("readinessProbe", "livenessProbe"):
        get = (container.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != "/health" or _container_port(container, get.get("port")) != port:
            problems.append(f"{probe} must GET /health on port {port}")
    labels = deployment.spec.get("template", {}).get("metadata", {}).get("labels", {})
    for service in platform.services.values():
        selector = service.spec.get("selector") or {}
        if selector and selector.items() <= labels.items():
            targets = {
                _container_port(container, p.get("targetPort", p.get("port")))
                for p in service.spec.get("ports", [])
            }
            if port in targets:
                return problems
    problems.append(f"no Service selects its pods on port {port}")
    return problems


def _selector_problems(platform: Platform, deployment: Manifest) -> list[str]:
    del platform
    selector = deployment.spec.get("selector", {}).get("matchLabels", {})
    labels = deployment.spec.get("template", {}).get("metadata", {}).get("labels", {})
    if not selector or not selector.items() <= labels.items():
        return [f"{deployment}: spec.selector.matchLabels must match the pod template's labels"]
    return []


def _kafka_problems(platform: Platform, topics: Sequence[str]) -> list[str]:
    problems: list[str] = []
    clusters = platform.kinds("Kafka")
    if len(clusters) != 1:
        return [f"expected one Strimzi Kafka, found {len(clusters)}"]
    kafka = clusters[0]
    config = kafka.spec.get("kafka", {}).get("config", {})
    wanted = {
        "default.replication.factor": REPLICATION,
        "min.insync.replicas": MIN_INSYNC,
        "unclean.leader.election.enable": False,
    }
    problems.extend(
        f"{kafka}: config {key} must be {value!r}, is {config.get(key)!r}"
        for key, value in wanted.items()
        if config.get(key) != value
    )
    problems.extend(
        f"{kafka}: listener {listener.get('name')} has no authentication"
        for listener in kafka.spec.get("kafka", {}).get("listeners", [])
        if not listener.get("authentication")
    )
    pools = [p for p in platform.kinds("KafkaNodePool") if _cluster_label(p) == kafka.name]
    for role in ("controller", "broker"):
        count = sum(p.spec.get("replicas", 0) for p in pools if role in p.spec.get("roles", []))
        if count < REPLICATION:
            problems.append(f"{kafka}: {count} {role}s in its node pools, {REPLICATION} needed")
    by_topic = {str(t.spec.get("topicName", t.name)): t for t in platform.kinds("KafkaTopic")}
    for topic in topics:
        resource = by_topic.get(topic)
        if resource is None:
            problems.append(f"topic {topic} (contracts.topics.ALL_TOPICS) has no KafkaTopic")
            continue
        problems.extend(f"{resource}: {p}" for p in _topic_problems(resource, kafka, topic))
    problems.extend(
        f"{resource}: topic {name} is not in contracts.topics.ALL_TOPICS"
        for name, resource in by_topic.items()
        if name not in topics
    )
    problems.extend(
        f"{user}: label strimzi.io/cluster must name {kafka.name}"
        for user in platform.kinds("KafkaUser")
        if _cluster_label(user) != kafka.name
    )
    return problems


StrimziAcl = tuple[str, str, str, str]  # resource type, name, pattern type, operation


def strimzi_acls(acls: Sequence[Acl]) -> set[StrimziAcl]:
    """The local principal table's grants, spelled as a KafkaUser states them."""
    patterns = {Pattern.LITERAL: "literal", Pattern.PREFIXED: "prefix"}
    return {
        (acl.resource.name.lower(), acl.name, patterns[acl.pattern], acl.operation.name.title())
        for acl in acls
    }


def _stated_acls(user: Manifest) -> set[StrimziAcl]:
    stated: set[StrimziAcl] = set()
    for entry in user.spec.get("authorization", {}).get("acls", []):
        resource = entry.get("resource", {})
        key = (resource.get("type"), resource.get("name"), resource.get("patternType", "literal"))
        stated.update((*key, operation) for operation in entry.get("operations", []))
    return stated


def acl_problems(
    users: Sequence[Manifest], principals: Mapping[str, Sequence[Acl]] | None = None
) -> list[str]:
    """Each KafkaUser grants exactly what the local principal table grants the process
    (``deploy.local.principals``, derived from the code): no more, and nothing missing."""
    principals = platform_principals() if principals is None else principals
    by_name = {user.name: user for user in users}
    problems = []
    for name, acls in principals.items():
        user = by_name.get(name)
        if user is None:
            problems.append(f"principal {name} (deploy.local.principals) has no KafkaUser")
            continue
        wanted, stated = strimzi_acls(acls), _stated_acls(user)
        problems.extend(f"{user}: lacks {acl}" for acl in sorted(wanted - stated))
        problems.extend(
            f"{user}: grants {acl}, which the code does not need" for acl in sorted(stated - wanted)
        )
    return problems


def _topic_problems(resource: Manifest, kafka: Manifest, topic: str) -> list[str]:
    problems = []
    config = resource.spec.get("config") or {}
    if _cluster_label(resource) != kafka.name:
        problems.append(f"label strimzi.io/cluster must name {kafka.name}")
    if resource.spec.get("partitions", 0) < TOPIC_PARTITIONS:
        problems.append(f"needs {TOPIC_PARTITIONS} partitions at least (keyed by case id)")
    if resource.spec.get("replicas") != REPLICATION:
        problems.append(f"needs {REPLICATION} replicas")
    if int(config.get("min.insync.replicas", MIN_INSYNC)) < MIN_INSYNC:
        problems.append(f"min.insync.replicas must be {MIN_INSYNC} at least")
    if topic in DOMAIN_TOPICS and int(config.get("retention.ms", 0)) != -1:
        problems.append("a domain topic keeps its events forever: retention.ms must be -1")
    return problems


def _cluster_label(manifest: Manifest) -> str | None:
    labels = manifest.doc.get("metadata", {}).get("labels") or {}
    return labels.get("strimzi.io/cluster")


def _database_problems(platform: Platform, databases: Sequence[str]) -> list[str]:
    problems = []
    for database in databases:
        cluster = platform.clusters.get(database)
        if cluster is None:
            problems.append(
                f"database {database} (deploy.local.run.DATABASES) has no CloudNativePG Cluster"
            )
            continue
        initdb = cluster.spec["bootstrap"]["initdb"]
        if initdb.get("owner") != database:
            problems.append(f"{cluster}: the owner of {database} must be role {database}")
        if not (initdb.get("secret") or {}).get("name"):
            problems.append(f"{cluster}: bootstrap.initdb.secret must name the owner's Secret")
    problems.extend(
        f"{cluster}: database {name} is not in deploy.local.run.DATABASES"
        for name, cluster in platform.clusters.items()
        if name not in databases
    )
    return problems


# --------------------------------------------------------------------------------------------
# 3. Secrets
# --------------------------------------------------------------------------------------------


def referenced_secrets(manifests: Sequence[Manifest]) -> set[str]:
    """Every Secret a resource refers to by name."""
    names: set[str] = set()
    for m in manifests:
        for path, value in _walk(m.doc):
            by_pod = path[-2:] in {("secretKeyRef", "name"), ("secret", "secretName")}
            by_cnpg = m.kind == "Cluster" and path[-3:] == ("initdb", "secret", "name")
            if by_pod or by_cnpg:
                names.add(str(value))
    return names


def secrets_to_create(manifests: Sequence[Manifest]) -> list[str]:
    """The Secrets no operator writes: whoever deploys creates them (README.md says how)."""
    return sorted(referenced_secrets(manifests) - Platform(manifests).operator_secrets())


def secret_problems(
    manifests: Sequence[Manifest], readme: Path | None = HERE / "README.md"
) -> list[str]:
    problems: list[str] = []
    platform = Platform(manifests)
    for m in manifests:
        if m.kind == "Secret" and (m.doc.get("data") or m.doc.get("stringData")):
            problems.append(f"{m}: a Secret with data has no place in the repository")
        for path, value in _walk(m.doc):
            key = path[-1] if path else ""
            if isinstance(value, str) and value and CREDENTIAL_KEY.search(str(key)):
                problems.append(f"{m}: {'.'.join(map(str, path))} holds a literal credential")
        if m.kind == "ConfigMap":
            problems.extend(
                f"{m}: data.{key} looks like a credential; it belongs in a Secret"
                for key in (m.doc.get("data") or {})
                if CREDENTIAL_NAME.search(str(key))
            )
        for container in _containers(m):
            env_list, _ = container_env(container, platform.configmaps)
            for var in env_list:
                problem = _credential_problem(env_list, var)
                if problem:
                    problems.append(
                        f"{m}: container {container.get('name')}: {var.name}: {problem}"
                    )
    if readme is not None:
        text = readme.read_text(encoding="utf-8") if readme.is_file() else ""
        problems.extend(
            f"Secret {name} is referenced but {readme.name} does not say how to create it"
            for name in secrets_to_create(manifests)
            if name not in text
        )
    return problems


def _credential_problem(env_list: Sequence[EnvVar], var: EnvVar) -> str | None:
    if var.value is None:
        return None
    for ref in VAR_REF.findall(var.value):
        if _defined_before(env_list, var, ref) is None:
            return f"$({ref}) is not defined before it, so Kubernetes would not expand it"
    if CREDENTIAL_NAME.search(var.name) and not _from_secret(env_list, var):
        return "a literal credential: take it from a Secret (secretKeyRef)"
    for token in re.findall(r"[a-z][a-z0-9+.\-]*://[^\s\"']+", var.value):
        password = urlsplit(token).password
        ref = VAR_REF.fullmatch(password or "")
        source = _defined_before(env_list, var, ref.group(1)) if ref else None
        if password and (source is None or source.secret is None):
            return "a URL with a literal password: use $(VAR) of a variable from a Secret"
    return None


def _containers(m: Manifest) -> list[dict[str, Any]]:
    if m.kind != "Deployment":
        return []
    pod = _pod(m)
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def _walk(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))
    else:
        yield path, node


# --------------------------------------------------------------------------------------------
# Warnings: what the code does not read yet
# --------------------------------------------------------------------------------------------


def unread_settings(manifests: Sequence[Manifest]) -> list[str]:
    """``IP_*`` variables a Deployment sets that its process's settings class does not read
    (a typo, or a setting the code does not have yet). Warnings, not problems."""
    platform = Platform(manifests)
    unread_by: dict[tuple[str, ...], list[str]] = {}
    for deployment in _deployments(manifests).values():
        for container in _pod(deployment).get("containers", []):
            module = _python_module(container)
            if module is None:
                continue
            try:
                readable = settings_env_names(module)
            except LookupError:
                continue
            env_list, _ = container_env(container, platform.configmaps)
            unread = tuple(
                sorted({v.name for v in env_list if v.name.startswith("IP_")} - readable)
            )
            if unread:
                unread_by.setdefault(unread, []).append(deployment.name)
    return [
        f"no settings class reads {', '.join(names)} (set for {', '.join(deployments)})"
        for names, deployments in unread_by.items()
    ]


# --------------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------------


@dataclass
class Report:
    validated: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def validate(
    root: Path = HERE,
    *,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    kube_version: str = KUBE_VERSION,
    fetch: bool = True,
) -> Report:
    """Everything ``python -m deploy.k8s.validate`` checks, as a report."""
    report = Report()
    manifests, report.problems = load_manifests(root)
    strimzi: Path | None = None
    try:
        strimzi = fetch_strimzi_schemas(cache_dir, fetch=fetch)
    except FetchError as error:
        report.problems.append(f"Strimzi's CRD schemas: {error}")
    schemas = SchemaSet(strimzi, kube_version)
    for manifest in manifests:
        found = schemas.problems(manifest)
        report.problems.extend(f"{manifest}: {p}" for p in found)
        if not found:
            report.validated.append(f"{manifest}  [{schemas.source(manifest)}]")
    processes = local_processes()
    counterparts = counterpart_problems(manifests, processes)
    report.problems.extend(counterparts)
    report.problems.extend(secret_problems(manifests, root / "README.md"))
    report.warnings.extend(unread_settings(manifests))
    if not counterparts:
        report.validated.extend(
            [
                *(
                    f"process {p.name} (python -m {p.module}) -> Deployment/{kube_name(p.name)}"
                    for p in processes
                ),
                *(f"topic {t} -> KafkaTopic" for t in ALL_TOPICS),
                *(f"database {d} -> CloudNativePG Cluster" for d in run.DATABASES),
            ]
        )
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.k8s.validate",
        description="Validate the Kubernetes manifests of deploy/k8s offline: every resource "
        "against its schema (Kubernetes kinds: kubernetes-validate; Strimzi: its CRDs from "
        "Maven Central, fetched once into the cache; CloudNativePG: a hand-written subset), "
        "every process, topic and database of the local stack against its counterpart, and "
        "no secret in the manifests. Exits 1 when anything is wrong.",
    )
    parser.add_argument(
        "--dir", type=Path, default=HERE, help=f"the manifests (default: {HERE.relative_to(REPO)})"
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help=f"where fetched schemas are kept (default: {DEFAULT_CACHE_DIR.relative_to(REPO)})",
    )
    parser.add_argument(
        "--kube-version",
        default=KUBE_VERSION,
        help=f"Kubernetes version of the core schemas (default: {KUBE_VERSION})",
    )
    parser.add_argument(
        "--no-fetch",
        action="store_true",
        help="never run Maven: fail if Strimzi's CRD schemas are not in the cache yet",
    )
    parser.add_argument(
        "--fetch-only",
        action="store_true",
        help=f"only fetch Strimzi {STRIMZI_VERSION}'s CRD schemas into the cache, then stop",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="print problems only")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.fetch_only:
        try:
            print(f"Strimzi CRD schemas in {fetch_strimzi_schemas(args.cache_dir)}")
        except FetchError as error:
            print(f"FAIL Strimzi's CRD schemas: {error}", file=sys.stderr)
            return 1
        return 0
    report = validate(
        args.dir, cache_dir=args.cache_dir, kube_version=args.kube_version, fetch=not args.no_fetch
    )
    if not args.quiet:
        for line in report.validated:
            print(f"ok    {line}")
        manifests, _ = load_manifests(args.dir)
        print(
            "Secrets to create before applying (README.md): "
            + ", ".join(secrets_to_create(manifests))
        )
    for line in report.warnings:
        print(f"WARN  {line}")
    for line in report.problems:
        print(f"FAIL  {line}", file=sys.stderr)
    print(
        f"deploy/k8s: {len(report.validated)} checks passed, {len(report.problems)} problems, "
        f"{len(report.warnings)} warnings ({time.monotonic() - started:.1f} s)"
    )
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
