"""The specs a pack folder's files make: one frozen dataclass per kind. Plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

JSON = Any
"""A value that came from YAML/JSON: dict, list, str, int, float, bool or None."""


@dataclass(frozen=True, slots=True)
class PackSpec:
    ref: str
    label: str
    description: str
    version: str | None = None
    conf_schema: dict[str, JSON] | None = None
    config: dict[str, JSON] | None = None
    meta: dict[str, JSON] | None = None
    tags: tuple[str, ...] = ()
    runtime_deps: tuple[str, ...] = ()
    """Runtime refs as written in the file; the database keeps their ids."""
    is_standard: bool = False
    dependencies: tuple[str, ...] = ()
    """Pack refs with an optional `@version`, as written; checked, not stored."""


@dataclass(frozen=True, slots=True)
class TriggerSpec:
    ref: str
    pack_ref: str
    label: str
    description: str | None = None
    enabled: bool = True
    param_schema: dict[str, JSON] | None = None
    out_schema: dict[str, JSON] | None = None
    source: str = ""
    """File the trigger came from, relative to the packs root."""


@dataclass(frozen=True, slots=True)
class SensorSpec:
    ref: str
    pack_ref: str
    label: str
    description: str
    entrypoint: str
    runtime_ref: str
    """The runtime as written (`runner_type`); the planner resolves it to a runtime ref."""
    trigger_refs: tuple[str, ...]
    """Every trigger the sensor fires, qualified, in file order; never empty."""
    enabled: bool = True
    param_schema: dict[str, JSON] | None = None
    config: dict[str, JSON] | None = None
    source: str = ""

    @property
    def trigger_ref(self) -> str:
        """The first trigger: the sensor row's own `trigger`/`trigger_ref` columns."""
        return self.trigger_refs[0]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    ref: str
    pack_ref: str
    label: str
    description: str | None = None
    runtime_ref: str | None = "shell"
    """The runtime as written (`runner_type`); None for a workflow action."""
    entrypoint: str | None = None
    param_schema: dict[str, JSON] | None = None
    out_schema: dict[str, JSON] | None = None
    parameter_delivery: str = "stdin"
    parameter_format: str = "json"
    output_format: str = "text"
    workflow_file: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    ref: str
    pack_ref: str
    label: str
    trigger_ref: str
    action_ref: str
    description: str | None = None
    enabled: bool = True
    conditions: JSON = field(default_factory=dict)
    action_params: dict[str, JSON] = field(default_factory=dict)
    trigger_params: dict[str, JSON] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    ref: str
    pack_ref: str
    name: str
    description: str | None = None
    aliases: tuple[str, ...] = ()
    """Lower-cased."""
    distributions: dict[str, JSON] | None = None
    installation: dict[str, JSON] | None = None
    execution_config: dict[str, JSON] | None = None
    versions: list[JSON] | None = None
    source: str = ""


ComponentSpec = TriggerSpec | SensorSpec | ActionSpec | RuleSpec | RuntimeSpec
