"""Generate a deterministic, realistic packs tree for the attune-sync benchmark.

The standard tree is 1,000 packs x 20 triggers x 20 sensors = 41,000 files. Every pack has a
``conf_schema`` (3-8 properties of varied types, enums, bounds, defaults, one ``secret: true``
property and a ``required`` list) and a ``config`` that validates against it (secrets left
out); every trigger has ``param_schema`` and ``out_schema``; every sensor has
``param_schema`` and a ``trigger_ref`` to a trigger of its own pack. Schemas vary by pack and
index, so they are not all identical, and files weigh roughly 0.5-2 KB, like hand-written
packs.

The same seed and sizes always give byte-identical trees.

Usage (on its own; the benchmark calls `generate_tree`)::

    .venv/bin/python benchmarks/generate.py OUT_DIR --packs 5 --triggers 3 --sensors 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_SEED = 20240601
MARKER = ".attune-sync-bench.json"
"""Written at the tree's root (dotfiles there are ignored by the reader) to recognise a tree."""

VENDORS = ("acme", "globex", "initech", "umbrella", "stark", "wayne", "hooli", "soylent")
TOPICS = (
    "monitoring",
    "network",
    "storage",
    "cloud",
    "ci",
    "security",
    "database",
    "messaging",
    "logging",
    "billing",
    "inventory",
    "backup",
)
TRIGGER_NOUNS = (
    "alert",
    "threshold_crossed",
    "state_change",
    "job_finished",
    "webhook",
    "quota_exceeded",
    "heartbeat_missed",
    "deploy_event",
    "login_failed",
    "certificate_expiring",
    "queue_backlog",
    "disk_full",
)
SENSOR_NOUNS = (
    "poller",
    "watcher",
    "listener",
    "probe",
    "scanner",
    "collector",
    "tailer",
    "checker",
)
WORDS = (
    "host",
    "region",
    "cluster",
    "endpoint",
    "timeout",
    "retries",
    "interval",
    "threshold",
    "severity",
    "channel",
    "project",
    "namespace",
    "bucket",
    "queue",
    "account",
    "zone",
    "tag",
    "limit",
    "window",
    "owner",
)
SEVERITIES = ("debug", "info", "notice", "warning", "error", "critical")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-south-1", "sa-east-1")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SENTENCES = (
    "Checked on every poll.",
    "Leave empty to use the server default.",
    "Values outside the range are rejected.",
    "Applies to every environment unless overridden.",
    "Changing it takes effect on the next run.",
    "Used when building the request.",
)


class Quoted(str):
    """A string written with double quotes (versions: `1.10` unquoted is a number)."""


class _Dumper(yaml.CSafeDumper):
    pass


def _quoted(dumper: yaml.SafeDumper, value: Quoted) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style='"')


_Dumper.add_representer(Quoted, _quoted)


def dump(document: dict[str, Any]) -> bytes:
    text: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=None,
        allow_unicode=True,
        width=160,
    )
    return text.encode()


@dataclass(frozen=True, slots=True)
class TreeInfo:
    root: str
    packs: int
    triggers: int
    sensors: int
    seed: int
    files: int
    bytes: int
    edit_path: str | None
    """A sensor file (relative to root) the one-file-change phase edits."""
    edit_ref: str | None
    """That sensor's ref."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- schemas


def _sentence(rng: random.Random, subject: str) -> str:
    return f"{subject.replace('_', ' ').capitalize()}. {rng.choice(SENTENCES)}"


def _property(rng: random.Random, name: str) -> tuple[dict[str, Any], Any]:
    """One property schema and a value that validates against it."""
    kind = rng.randrange(9)
    description = _sentence(rng, name)
    if kind == 0:
        size = rng.randint(8, 64)
        value = f"{name}-{rng.randrange(1000)}"
        return {"type": "string", "description": description, "maxLength": size * 4}, value
    if kind == 1:
        choices = rng.sample(SEVERITIES, rng.randint(2, len(SEVERITIES)))
        return (
            {"type": "string", "enum": choices, "default": choices[0], "description": description},
            rng.choice(choices),
        )
    if kind == 2:
        low = rng.choice((0, 1, 5, 10, 30))
        high = low + rng.choice((10, 60, 300, 3600, 86400))
        default = rng.randint(low, high)
        schema = {
            "type": "integer",
            "minimum": low,
            "maximum": high,
            "default": default,
            "description": description,
        }
        return schema, rng.randint(low, high)
    if kind == 3:
        high = rng.choice((1.0, 100.0, 1000.0))
        schema = {
            "type": "number",
            "minimum": 0,
            "maximum": high,
            "default": round(high * 0.8, 2),
            "description": description,
        }
        return schema, round(rng.uniform(0, high), 2)
    if kind == 4:
        default = rng.random() < 0.5
        return {"type": "boolean", "default": default, "description": description}, not default
    if kind == 5:
        schema = {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "uniqueItems": True,
            "description": description,
        }
        return schema, [f"{name}-{n}" for n in range(rng.randint(1, 3))]
    if kind == 6:
        choices = rng.sample(REGIONS, rng.randint(2, len(REGIONS)))
        schema = {
            "type": "array",
            "items": {"type": "string", "enum": choices},
            "minItems": 1,
            "description": description,
        }
        return schema, choices[: rng.randint(1, len(choices))]
    if kind == 7:
        slug = name.replace("_", "-")
        schema = {
            "type": "string",
            "pattern": "^[a-z][a-z0-9-]{0,62}$",
            "description": description,
            "examples": [f"{slug}-prod", f"{slug}-staging"],
        }
        return schema, f"{slug}-{rng.choice(('prod', 'staging', 'dev'))}"
    schema = {
        "type": "object",
        "description": description,
        "properties": {
            "host": {"type": "string", "format": "hostname"},
            "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 443},
            "tls": {"type": "boolean", "default": True},
        },
        "required": ["host"],
        "additionalProperties": False,
    }
    return schema, {"host": f"{name}.example.com", "port": rng.choice((443, 8443, 9000))}


def _names(rng: random.Random, count: int, extra: tuple[str, ...] = ()) -> list[str]:
    pool = [*WORDS, *extra]
    picked = rng.sample(pool, count)
    suffix = rng.choice(("", "", "_name", "_id", "_seconds", "_count"))
    return [f"{name}{suffix}" if n % 3 == 0 else name for n, name in enumerate(picked)]


def object_schema(
    rng: random.Random, count: int, *, required: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An object schema with `count` properties, and a value holding every required one."""
    properties: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for name in _names(rng, count):
        properties[name], values[name] = _property(rng, name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    names = list(properties)
    if required:
        schema["required"] = names[:required]
    if rng.random() < 0.4:
        schema["additionalProperties"] = False
    return schema, values


def conf_schema(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """A pack's conf_schema (3-8 properties, one secret) and a config valid against it."""
    count = rng.randint(2, 7)
    schema, values = object_schema(rng, count, required=rng.randint(1, min(3, count)))
    secret = rng.choice(("api_token", "password", "client_secret", "access_key"))
    schema["properties"][secret] = {
        "type": "string",
        "secret": True,
        "minLength": 8,
        "description": "Credential; supplied outside of Git.",
    }
    required = set(schema.get("required", []))
    config = {
        name: value
        for name, value in values.items()
        if name in required or rng.random() < 0.6  # optional values: some given, some not
    }
    return schema, config


# --------------------------------------------------------------------------- documents


def pack_ref(index: int) -> str:
    return f"{VENDORS[index % len(VENDORS)]}.{TOPICS[index % len(TOPICS)]}_{index:04d}"


def trigger_name(index: int, pack_index: int) -> str:
    return f"{TRIGGER_NOUNS[(index + pack_index) % len(TRIGGER_NOUNS)]}_{index:02d}"


def sensor_name(index: int, pack_index: int) -> str:
    return f"{SENSOR_NOUNS[(index + pack_index) % len(SENSOR_NOUNS)]}_{index:02d}"


def pack_document(rng: random.Random, index: int) -> dict[str, Any]:
    ref = pack_ref(index)
    topic = TOPICS[index % len(TOPICS)]
    schema, config = conf_schema(rng)
    return {
        "ref": ref,
        "label": f"{ref.split('.')[0].capitalize()} {topic.capitalize()} Pack {index}",
        "description": f"Triggers and sensors for {topic} at {ref.split('.')[0]} ({index}).",
        "version": Quoted(f"{rng.randint(0, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"),
        "conf_schema": schema,
        "config": config,
        "meta": {
            "author": f"{ref.split('.')[0].capitalize()} Platform Team",
            "license": rng.choice(("MIT", "Apache-2.0", "BSD-3-Clause")),
            "homepage": f"https://git.example.com/{ref.replace('.', '/')}",
        },
        "tags": sorted({topic, ref.split(".")[0], rng.choice(("prod", "infra", "ops"))}),
        "runtime_deps": ["python3"],
        "is_standard": False,
    }


def trigger_document(rng: random.Random, ref: str, name: str) -> dict[str, Any]:
    params, _ = object_schema(rng, rng.randint(1, 4), required=rng.randint(0, 1))
    outputs, _ = object_schema(rng, rng.randint(2, 6))
    outputs["properties"]["occurred_at"] = {"type": "string", "format": "date-time"}
    return {
        "ref": ref,
        "label": name.replace("_", " ").title(),
        "description": f"Fires on {name.replace('_', ' ')} events. {rng.choice(SENTENCES)}",
        "enabled": rng.random() < 0.9,
        "param_schema": params,
        "out_schema": outputs,
    }


def sensor_document(rng: random.Random, ref: str, name: str, trigger_ref: str) -> dict[str, Any]:
    params, _ = object_schema(rng, rng.randint(1, 5), required=rng.randint(0, 1))
    params["properties"]["interval_seconds"] = {
        "type": "integer",
        "minimum": 5,
        "maximum": 86400,
        "default": rng.choice((15, 30, 60, 300)),
        "description": "Seconds between checks",
    }
    if rng.random() < 0.5:
        params["properties"]["method"] = {"type": "string", "enum": list(METHODS)}
    return {
        "ref": ref,
        "label": name.replace("_", " ").title(),
        "description": f"Watches and fires {trigger_ref}. {rng.choice(SENTENCES)}",
        "entrypoint": f"/sensors/{ref.split('.')[-1]}.py",
        "runtime_ref": "python3",
        "trigger_ref": trigger_ref,
        "enabled": rng.random() < 0.9,
        "param_schema": params,
    }


def edit_target(packs: int, triggers: int, sensors: int) -> tuple[str, str] | None:
    """The sensor the one-file-change phase edits: the first sensor of the middle pack."""
    if packs < 1 or sensors < 1 or triggers < 1:
        return None
    index = packs // 2
    ref = pack_ref(index)
    name = sensor_name(0, index)
    return f"{ref}/sensors/{name}.yaml", f"{ref}.{name}"


def generate_tree(
    root: str | os.PathLike[str],
    packs: int = 1000,
    triggers: int = 20,
    sensors: int = 20,
    seed: int = DEFAULT_SEED,
) -> TreeInfo:
    """Write the tree under `root` (created; must be empty or missing)."""
    if sensors and not triggers:
        raise ValueError("sensors need at least one trigger in their pack")
    base = Path(root)
    base.mkdir(parents=True, exist_ok=True)
    if any(base.iterdir()):
        raise ValueError(f"{base} is not empty")
    files = size = 0
    for index in range(packs):
        rng = random.Random(f"{seed}/{index}")
        ref = pack_ref(index)
        folder = base / ref
        (folder / "triggers").mkdir(parents=True)
        if sensors:
            (folder / "sensors").mkdir()
        outputs: list[tuple[Path, bytes]] = [
            (folder / "pack.yaml", dump(pack_document(rng, index)))
        ]
        trigger_refs = []
        for number in range(triggers):
            name = trigger_name(number, index)
            trigger_refs.append(f"{ref}.{name}")
            document = trigger_document(rng, f"{ref}.{name}", name)
            outputs.append((folder / "triggers" / f"{name}.yaml", dump(document)))
        for number in range(sensors):
            name = sensor_name(number, index)
            target = trigger_refs[number % len(trigger_refs)]
            document = sensor_document(rng, f"{ref}.{name}", name, target)
            outputs.append((folder / "sensors" / f"{name}.yaml", dump(document)))
        for path, data in outputs:
            path.write_bytes(data)
            files += 1
            size += len(data)
    target = edit_target(packs, triggers, sensors)
    info = TreeInfo(
        root=str(base),
        packs=packs,
        triggers=triggers,
        sensors=sensors,
        seed=seed,
        files=files,
        bytes=size,
        edit_path=target[0] if target else None,
        edit_ref=target[1] if target else None,
    )
    (base / MARKER).write_text(json.dumps(info.as_json(), indent=2) + "\n")
    return info


def existing_tree(
    root: str | os.PathLike[str], packs: int, triggers: int, sensors: int, seed: int
) -> TreeInfo | None:
    """The tree at `root` if this generator made it with these parameters, else None."""
    try:
        recorded = json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None
    wanted = {"packs": packs, "triggers": triggers, "sensors": sensors, "seed": seed}
    if any(recorded.get(key) != value for key, value in wanted.items()):
        return None
    recorded["root"] = str(Path(root))
    return TreeInfo(**recorded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", help="folder to create (must be empty or missing)")
    parser.add_argument("--packs", type=int, default=1000)
    parser.add_argument("--triggers", type=int, default=20)
    parser.add_argument("--sensors", type=int, default=20)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--force", action="store_true", help="delete ROOT first")
    args = parser.parse_args(argv)
    if args.force and Path(args.root).exists():
        shutil.rmtree(args.root)
    try:
        info = generate_tree(args.root, args.packs, args.triggers, args.sensors, args.seed)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(info.as_json(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
