"""The pack file format as data: one declarative table per kind.

Each kind (pack, trigger, sensor, action, rule, runtime) is a `KindTable` of `Field`s: the
canonical key (Attune's own name), the aliases we also accept (the seed API's names), the
type, whether it is required, its default, its limits, and the column (spec attribute) it is
stored in — or none, for keys that are accepted and type-checked but not stored.

Everything else is derived from these tables: the checks in `fieldcheck`, the normalised
documents the reader builds specs from, the values the planner compares (`model.
FIELDS_BY_KIND`), the column lengths of `db.schema`, and the table in docs/pack-format.md.
Keep it plain data (types are an enum) so that editor JSON Schemas can be generated from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .fieldtypes import ENTRYPOINT_LENGTH as ENTRYPOINT_LENGTH
from .fieldtypes import LABEL_LENGTH as LABEL_LENGTH
from .fieldtypes import REF_LENGTH as REF_LENGTH
from .fieldtypes import REF_PATTERN as REF_PATTERN
from .fieldtypes import SEMVER_PATTERN as SEMVER_PATTERN
from .fieldtypes import VERSION_LENGTH as VERSION_LENGTH
from .fieldtypes import FieldIssue as FieldIssue
from .fieldtypes import is_valid_ref as is_valid_ref


class FieldType(StrEnum):
    STRING = "string"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    OBJECT = "object"
    LIST = "list"
    STRING_LIST = "string_list"
    """A list of non-empty strings; with `Field.single_ok` one string stands for a list."""
    OBJECT_LIST = "object_list"
    SCHEMA = "schema"
    """A parameter schema: Attune's flat format or standard JSON Schema (see flatschema)."""
    CONDITIONS = "conditions"
    """A mapping or a list (a rule's conditions)."""
    ANY = "any"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    """The canonical key, as Attune's own packs write it."""
    type: FieldType
    column: str | None = None
    """Where the value is stored (spec attribute and database column); None: accepted only."""
    aliases: tuple[str, ...] = ()
    required: bool = False
    nullable: bool = False
    default: Any = None
    min_length: int | None = None
    max_length: int | None = None
    is_ref: bool = False
    is_semver: bool = False
    choices: tuple[str, ...] = ()
    single_ok: bool = False
    alias_may_repeat: bool = False
    """Canonical key and alias may both be given (pack `label` and `name`): canonical wins."""
    doc: str = ""

    @property
    def stored(self) -> bool:
        return self.column is not None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True, slots=True)
class KindTable:
    kind: str
    folder: str | None
    """The component folder inside a pack (None for pack.yaml)."""
    fields: tuple[Field, ...]
    derived: tuple[str, ...] = ()
    """Stored columns computed from other keys rather than written (pack runtime constraints)."""

    def __iter__(self) -> Iterator[Field]:
        return iter(self.fields)

    def __contains__(self, key: object) -> bool:
        return key in self.lookup

    @property
    def lookup(self) -> Mapping[str, Field]:
        """Every accepted key, canonical or alias, to its field."""
        return _LOOKUPS[self.kind]

    def field(self, name: str) -> Field:
        return self.lookup[name]

    @property
    def stored(self) -> tuple[Field, ...]:
        return tuple(field for field in self.fields if field.stored)


_S, _B, _I, _O = FieldType.STRING, FieldType.BOOLEAN, FieldType.INTEGER, FieldType.OBJECT
_L, _SL, _OL, _SCH = FieldType.LIST, FieldType.STRING_LIST, FieldType.OBJECT_LIST, FieldType.SCHEMA


_COMPONENT_REF = (
    "default `<pack ref>.<name>` when `name` is given, else `<pack ref>.<file stem>`; "
    "must start with `<pack ref>.`"
)
_GENERATED_LABEL = "default: from the ref's last segment (`http_request` gives `Http Request`)"


def _ref(*, required: bool = False, doc: str = _COMPONENT_REF) -> Field:
    return Field(
        "ref",
        _S,
        "ref",
        required=required,
        min_length=1,
        max_length=REF_LENGTH,
        is_ref=True,
        doc="" if required else doc,
    )


def _label(**extra: Any) -> Field:
    extra.setdefault("doc", "" if extra.get("required") else _GENERATED_LABEL)
    return Field("label", _S, "label", min_length=1, max_length=LABEL_LENGTH, **extra)


def _description(*, required: bool = False) -> Field:
    return Field(
        "description", _S, "description", required=required, nullable=not required, min_length=1
    )


_ENABLED = Field("enabled", _B, "enabled", default=True)
_RETENTION = tuple(
    Field(name, _S, choices=("versions", "days", "hours", "minutes"))
    for name in ("log_retention_policy", "artifact_retention_policy")
) + tuple(Field(name, _I) for name in ("log_retention_limit", "artifact_retention_limit"))
_WORKER = (
    Field("runtime_version", _S),
    Field("worker_selector", _O),
    Field("worker_tolerations", _L),
    Field("worker_affinity", _O),
)

PACK_TABLE = KindTable(
    "pack",
    None,
    (
        _ref(required=True),
        _label(
            required=True,
            aliases=("name",),
            alias_may_repeat=True,
            doc="`name` is read when there is no `label`; a file may hold both",
        ),
        _description(required=True),
        Field("version", _S, "version", nullable=True, max_length=VERSION_LENGTH, is_semver=True),
        Field("conf_schema", _SCH, "conf_schema", aliases=("config_schema",), nullable=True),
        Field("config", _O, "config", nullable=True),
        Field("meta", _O, "meta", aliases=("metadata",), nullable=True),
        Field("tags", _SL, "tags", aliases=("keywords",), nullable=True, default=()),
        Field(
            "runtime_deps",
            _SL,
            "runtime_deps",
            nullable=True,
            default=(),
            doc="runtimes (see Runtime resolution), stored as ids; a version constraint "
            "(`nodejs>=22`) is kept in `runtime_constraints`",
        ),
        Field("dependencies", _SL, nullable=True, doc="pack refs, each with an optional @version"),
        Field("is_standard", _B, "is_standard", aliases=("system",), default=False),
        Field("enabled", _B),
        Field("author", _S),
        Field("email", _S),
        Field("testing", _O),
        Field("python", _S),
        Field("nodejs", _S),
    ),
    derived=("runtime_constraints",),
)

TRIGGER_TABLE = KindTable(
    "trigger",
    "triggers",
    (
        _ref(),
        _label(),
        _description(),
        _ENABLED,
        Field("parameters", _SCH, "param_schema", aliases=("param_schema",), nullable=True),
        Field("output", _SCH, "out_schema", aliases=("out_schema",), nullable=True),
        Field("type", _S),
        Field("tags", _SL),
        Field("examples", _L),
        Field("name", _S, doc="gives the ref when `ref` is left out"),
    ),
)

SENSOR_TABLE = KindTable(
    "sensor",
    "sensors",
    (
        _ref(),
        _label(),
        _description(required=True),
        Field(
            "entry_point",
            _S,
            "entrypoint",
            aliases=("entrypoint",),
            required=True,
            min_length=1,
            max_length=ENTRYPOINT_LENGTH,
        ),
        Field(
            "runner_type",
            _S,
            "runtime_ref",
            aliases=("runtime_ref",),
            default="native",
            min_length=1,
            max_length=REF_LENGTH,
        ),
        Field(
            "trigger_types",
            _SL,
            "trigger_refs",
            aliases=("trigger_type", "trigger_ref"),
            required=True,
            single_ok=True,
            max_length=REF_LENGTH,
            is_ref=True,
            doc="short names are qualified with the pack ref; the first is the sensor's trigger",
        ),
        _ENABLED,
        Field("parameters", _SCH, "param_schema", aliases=("param_schema",), nullable=True),
        Field("config", _O, "config", nullable=True),
        Field("poll_interval", _I),
        Field("tags", _SL),
        Field("meta", _O),
        Field("examples", _L),
        Field("name", _S),
        *_WORKER,
        *_RETENTION,
    ),
)

ACTION_TABLE = KindTable(
    "action",
    "actions",
    (
        _ref(),
        _label(),
        _description(),
        Field(
            "runner_type", _S, "runtime_ref", default="shell", min_length=1, max_length=REF_LENGTH
        ),
        Field("entry_point", _S, "entrypoint", nullable=True, max_length=ENTRYPOINT_LENGTH),
        Field("parameters", _SCH, "param_schema", aliases=("param_schema",), nullable=True),
        Field("output", _SCH, "out_schema", aliases=("output_schema", "out_schema"), nullable=True),
        Field(
            "parameter_delivery",
            _S,
            "parameter_delivery",
            default="stdin",
            choices=("stdin", "file"),
        ),
        Field(
            "parameter_format",
            _S,
            "parameter_format",
            default="json",
            choices=("dotenv", "json", "yaml"),
        ),
        Field(
            "output_format",
            _S,
            "output_format",
            default="text",
            choices=("text", "json", "yaml", "jsonl"),
        ),
        Field(
            "workflow_file",
            _S,
            "workflow_file",
            nullable=True,
            min_length=1,
            max_length=ENTRYPOINT_LENGTH,
            doc="a path relative to actions/; the action then has no runtime",
        ),
        Field("enabled", _B),
        Field("tags", _SL),
        Field("timeout", _I),
        Field("examples", _L),
        Field("name", _S),
        Field("required_worker_runtimes", _O),
        Field("accesses_mcp", _B),
        Field("default_execution_permission_set_refs", _SL),
        *_WORKER,
        *_RETENTION,
    ),
)


def _rule_ref(name: str) -> Field:
    return Field(
        name,
        _S,
        name,
        required=True,
        min_length=1,
        max_length=REF_LENGTH,
        is_ref=True,
        doc="a short name is qualified with the pack ref; must exist in the tree or database",
    )


RULE_TABLE = KindTable(
    "rule",
    "rules",
    (
        _ref(doc=_COMPONENT_REF + "; a short name (no dot) is qualified with the pack ref"),
        _label(),
        _description(),
        _ENABLED,
        _rule_ref("trigger_ref"),
        _rule_ref("action_ref"),
        Field("conditions", FieldType.CONDITIONS, "conditions", default={}),
        Field("action_params", _O, "action_params", default={}),
        Field("trigger_params", _O, "trigger_params", default={}),
        Field("permission_set_refs", FieldType.ANY, aliases=("permission_set_ref",), nullable=True),
    ),
)

RUNTIME_TABLE = KindTable(
    "runtime",
    "runtimes",
    (
        _ref(doc="default `<pack ref>.<file stem>`; must start with `<pack ref>.`"),
        Field(
            "name",
            _S,
            "name",
            min_length=1,
            max_length=LABEL_LENGTH,
            doc="default: the ref's last segment; also resolves `runner_type`",
        ),
        _description(),
        Field("aliases", _SL, "aliases", default=(), doc="lower-cased; resolve `runner_type`"),
        Field("distributions", _O, "distributions", nullable=True),
        Field("installation", _O, "installation", nullable=True),
        Field("execution_config", _O, "execution_config", nullable=True),
        Field("versions", _OL, "versions", nullable=True, doc="each entry has a `version` string"),
        Field("pack_ref", _S, doc="ignored: a runtime belongs to the pack whose folder holds it"),
    ),
)

TABLES: dict[str, KindTable] = {
    table.kind: table
    for table in (PACK_TABLE, TRIGGER_TABLE, SENSOR_TABLE, ACTION_TABLE, RULE_TABLE, RUNTIME_TABLE)
}
COMPONENT_FOLDERS: dict[str, str] = {
    table.folder: kind for kind, table in TABLES.items() if table.folder is not None
}
"""Folder name inside a pack -> the kind its YAML files hold."""

_LOOKUPS: dict[str, dict[str, Field]] = {
    kind: {name: field for field in table.fields for name in field.names}
    for kind, table in TABLES.items()
}

# Kept under their old names: tests and callers address a kind's rules by these.
PACK_RULES = PACK_TABLE
TRIGGER_RULES = TRIGGER_TABLE
SENSOR_RULES = SENSOR_TABLE


def stored_columns(kind: str) -> tuple[str, ...]:
    """The spec attributes (and columns) a kind's table stores, in table order, without ref."""
    table = TABLES[kind]
    own = tuple(f.column for f in table.fields if f.column is not None and f.column != "ref")
    return own + table.derived
