"""`apply`'s text output stays readable on a big plan (issue 11): past APPLY_VALUES_UP_TO
changes one line per change (kind, ref, changed field names) and a summary; `--verbose`
prints every value; `diff` and `--output json` stay complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from attune_sync.cli import parse
from attune_sync.cli.options import APPLY_VALUES_UP_TO
from cli.helpers import run, run_json
from core.trees import pack_doc, sensor_doc, trigger_doc, write_tree

SECRET = "tok-SECRET-123"
SECRET_PACK = (
    "conf_schema:\n  type: object\n  properties:\n    token:\n      type: string\n"
    "      secret: true\nconfig:\n  token: {token}\n  region: eu\n"
)
BIG = APPLY_VALUES_UP_TO + 10
"""Triggers in the big tree: with its pack and its sensor, past the threshold."""


def big_tree(
    root: Path, triggers: int = BIG, label: str = "A trigger", token: str = SECRET
) -> Path:
    """Pack `big` (a secret in its config), `triggers` triggers and one sensor."""
    files = {
        "big/pack.yaml": pack_doc("big", extra=SECRET_PACK.format(token=token)),
        "big/sensors/watch.yaml": sensor_doc("big.t000"),
    }
    for number in range(triggers):
        files[f"big/triggers/t{number:03}.yaml"] = trigger_doc(f"{label} {number}")
    return write_tree(root, files)


def _apply(capsys: pytest.CaptureFixture[str], root: Path, db_url: str, *extra: str) -> str:
    code, out = run(capsys, "apply", str(root), "--database", db_url, *extra)
    assert code == 0, out
    return out


def test_a_plan_up_to_the_threshold_prints_its_values(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The pack, its sensor and triggers: exactly APPLY_VALUES_UP_TO changes.
    root = big_tree(tmp_path / "packs", triggers=APPLY_VALUES_UP_TO - 2)
    out = _apply(capsys, root, db_url)
    assert f"Apply complete: {APPLY_VALUES_UP_TO} added" in out
    assert '+ trigger big.t000\n    label: "A trigger 0"\n    description: "fires"\n' in out
    assert '    label: "A trigger 0"' in out
    assert 'config: {"region": "eu", "token": "********"}' in out
    assert SECRET not in out
    assert "Values left out" not in out


def test_past_the_threshold_one_line_per_change_without_values(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = big_tree(tmp_path / "packs")
    changes = BIG + 2
    out = _apply(capsys, root, db_url)
    lines = out.splitlines()
    # One line per change, the plan's summary, the note and "Apply complete".
    assert len(lines) == changes + 3
    assert lines[:3] == ["+ pack big", "+ trigger big.t000", "+ trigger big.t001"]
    assert "+ sensor big.watch" in lines
    assert not [line for line in lines if line.startswith(" ")]  # no value lines
    assert "fires" not in out
    assert "********" not in out
    assert SECRET not in out
    assert lines[-3] == f"Plan: {changes} to add, 0 to change, 0 to destroy."
    assert lines[-2] == (
        f"Values left out ({changes} changes, more than {APPLY_VALUES_UP_TO}): "
        "--verbose prints them, --output json holds them all."
    )
    assert lines[-1].startswith(f"Apply complete: {changes} added, 0 changed, 0 destroyed in ")

    # Updates name their changed fields, never their values; deletes keep their heading.
    big_tree(root, triggers=BIG - 5, label="Renamed", token="tok-NEW-456")
    for number in range(BIG - 5, BIG):
        (root / "big" / "triggers" / f"t{number:03}.yaml").unlink()
    out = _apply(capsys, root, db_url)
    lines = out.splitlines()
    assert len(lines) == BIG + 1 + 3
    assert lines[0] == "~ pack big (config)"
    assert "~ trigger big.t000 (label)" in lines
    assert f"- trigger big.t{BIG - 1:03}" in lines
    assert not [line for line in lines if line.startswith(" ")]
    assert "Renamed" not in out
    assert "NEW-456" not in out
    assert SECRET not in out
    assert f"Plan: 0 to add, {BIG - 5 + 1} to change, 5 to destroy." in lines


def test_verbose_prints_every_value(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = big_tree(tmp_path / "packs")
    out = _apply(capsys, root, db_url, "--verbose")
    assert '+ trigger big.t000\n    label: "A trigger 0"\n    description: "fires"\n' in out
    assert f'    label: "A trigger {BIG - 1}"' in out
    assert 'config: {"region": "eu", "token": "********"}' in out
    assert SECRET not in out
    assert "Values left out" not in out
    assert len(out.splitlines()) > 2 * BIG

    big_tree(root, label="Renamed", token="tok-NEW-456")
    out = _apply(capsys, root, db_url, "--verbose")
    assert '~ trigger big.t000\n    label: "A trigger 0" → "Renamed 0"\n' in out
    assert "NEW-456" not in out
    assert SECRET not in out


def test_verbose_is_a_switch_with_its_environment_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    packs = str(tmp_path)
    assert parse(["apply", packs], {})[2].verbose is False
    assert parse(["apply", packs, "--verbose"], {})[2].verbose is True
    assert parse(["apply", packs], {"ATTUNE_SYNC_VERBOSE": "yes"})[2].verbose is True
    assert parse(["apply", packs], {"ATTUNE_SYNC_VERBOSE": "off"})[2].verbose is False
    with pytest.raises(SystemExit) as stopped:
        parse(["apply", packs], {"ATTUNE_SYNC_VERBOSE": "ture"})
    assert stopped.value.code == 64
    assert "ATTUNE_SYNC_VERBOSE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        parse(["diff", packs, "--verbose"], {})  # diff always prints every value
    assert stopped.value.code == 64


def test_json_and_diff_stay_complete(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = big_tree(tmp_path / "packs")
    code, out = run(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    assert f'    label: "A trigger {BIG - 1}"' in out
    assert "Values left out" not in out
    code, planned = run_json(capsys, "diff", str(root), "--database", db_url)
    assert code == 1
    code, applied = run_json(capsys, "apply", str(root), "--database", db_url)
    assert code == 0
    assert applied["changes"] == planned["changes"]
    assert len(applied["changes"]) == BIG + 2
    assert applied["changes"][1]["fields"]["label"] == "A trigger 0"
    assert applied["changes"][0]["fields"]["config"]["token"] == "********"
    assert SECRET not in str(applied)


def test_problems_and_holds_are_printed_in_full_when_values_are_left_out(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = big_tree(tmp_path / "packs")
    used = {"used/pack.yaml": pack_doc("used"), "used/triggers/t.yaml": trigger_doc()}
    uses = {"uses/pack.yaml": pack_doc("uses"), "uses/sensors/s.yaml": sensor_doc("used.t")}
    write_tree(root, {**used, **uses, "used/triggers/other.yaml": trigger_doc()})
    _apply(capsys, root, db_url)
    # `used.t` goes while an invalid pack's sensor still uses it: held back.
    (root / "used" / "triggers" / "t.yaml").unlink()
    (root / "uses" / "pack.yaml").write_text(pack_doc("uses") + "lable: typo\n")
    big_tree(root, label="Renamed")
    code, out = run(capsys, "apply", str(root), "--database", db_url)
    assert code == 2, out
    lines = out.splitlines()
    assert "~ trigger big.t000 (label)" in lines
    assert "Renamed" not in out
    assert "  ! delete trigger used.t: " in out
    assert "✗ pack 'uses' in uses/ is invalid and stays as it is:" in lines
    assert any(line.startswith("    uses/pack.yaml:4:1: error: lable: ") for line in lines)
    assert lines[-2].startswith(f"Values left out ({BIG} changes, ")


def test_a_saved_plan_applies_with_the_same_output(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = big_tree(tmp_path / "packs")
    plan = str(tmp_path / "plan.json")
    assert run(capsys, "diff", str(root), "--database", db_url, "--out", plan)[0] == 1
    out = _apply(capsys, root, db_url, "--plan", plan)
    lines = out.splitlines()
    assert len(lines) == BIG + 2 + 3
    assert "+ trigger big.t000" in lines
    assert lines[-2].startswith(f"Values left out ({BIG + 2} changes, ")
    assert lines[-1].startswith(f"Apply complete (saved plan {plan}): {BIG + 2} added")

    big_tree(root, label="Renamed")
    assert run(capsys, "diff", str(root), "--database", db_url, "--out", plan)[0] == 1
    out = _apply(capsys, root, db_url, "--plan", plan, "--verbose")
    assert '~ trigger big.t000\n    label: "A trigger 0" → "Renamed 0"\n' in out
    assert "Values left out" not in out
