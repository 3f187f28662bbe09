"""Runtime resolution, in the order docs/pack-format.md gives."""

from __future__ import annotations

import pytest

from attune_sync.runtimes import RuntimeIndex, resolve_runtime, split_constraint

BUILTINS = ("shell", "python3", "nodejs", "native")


def _index(*extra: tuple[str, str | None, tuple[str, ...]]) -> RuntimeIndex:
    index = RuntimeIndex()
    for ref in BUILTINS:
        index.add(ref)
    for ref, name, aliases in extra:
        index.add(ref, name, aliases)
    return index


@pytest.mark.parametrize(
    ("runner", "expected"),
    [
        ("shell", "shell"),
        ("bash", "shell"),
        ("sh", "shell"),
        ("python", "python3"),
        ("Python3", "python3"),
        ("node", "nodejs"),
        ("node.js", "nodejs"),
        ("standalone", "native"),
        ("builtin", "native"),
        ("cobol", None),
    ],
)
def test_builtins_through_the_runner_map(runner: str, expected: str | None) -> None:
    assert _index().resolve(runner) == expected


def test_the_order_exact_ref_then_core_map_then_alias_then_name_then_builtin() -> None:
    index = _index(
        ("core.python", "Python", ("py",)),
        ("tools.python", "python", ()),  # a name that is also a runner: the map wins
        ("tools.rb", "Ruby", ("rb", "ruby3")),
    )
    assert index.resolve("tools.python") == "tools.python"  # 1. exact ref
    assert index.resolve("python") == "core.python"  # 2. Attune's map, core.python exists
    assert index.resolve("RB") == "tools.rb"  # 3. alias, any case
    assert index.resolve("ruby") == "tools.rb"  # 4. name, any case
    assert index.resolve("sh") == "shell"  # 5. built-in through the map
    assert index.resolve("py") == "core.python"


def test_an_alias_wins_over_a_name() -> None:
    index = _index(("a.one", "x", ()), ("a.two", "Two", ("x",)))
    assert index.resolve("x") == "a.two"


def test_resolve_over_bare_refs() -> None:
    assert resolve_runtime("python", {"python3"}) == "python3"
    assert resolve_runtime("python", {"core.python", "python3"}) == "core.python"


@pytest.mark.parametrize(
    ("entry", "split"),
    [
        ("nodejs", ("nodejs", "")),
        ("nodejs>=22", ("nodejs", ">=22")),
        ("python >= 3.10", ("python", ">= 3.10")),
        ("core.python@3.12", ("core.python", "@3.12")),
    ],
)
def test_constraints_are_split_off(entry: str, split: tuple[str, str]) -> None:
    assert split_constraint(entry) == split


def test_a_sensor_whose_runtime_does_not_resolve_is_an_error(tmp_path: object) -> None:
    from pathlib import Path

    from attune_sync.model import ActualState
    from attune_sync.reader import read_tree
    from attune_sync.settle import settle
    from core.trees import pack_doc, write_tree

    files = {
        "p/pack.yaml": pack_doc("p"),
        "p/triggers/t.yaml": "label: T\n",
        "p/sensors/s.yaml": (
            "description: d\nentry_point: e\nrunner_type: cobl\ntrigger_types: [t]\n"
        ),
        "p/actions/a.yaml": "runner_type: cobl\n",
    }
    root = write_tree(Path(str(tmp_path)) / "packs", files)
    actual = ActualState(runtimes={ref: n for n, ref in enumerate(BUILTINS, start=1)})
    settled = settle(read_tree(root), actual)
    [invalid] = settled.invalid
    [problem] = invalid.problems
    assert (problem.path, problem.field, problem.line) == ("p/sensors/s.yaml", "runner_type", 3)
    assert problem.message == "unknown runtime 'cobl'"
    # The action's unresolved runtime is only a warning, reported in the same run.
    [warning] = settled.warnings
    assert (warning.path, warning.severity, warning.line) == ("p/actions/a.yaml", "warning", 1)
