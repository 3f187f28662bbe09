"""One rule for a pack's standing, used by the daemon's /status and `attune-sync status`."""

from __future__ import annotations

from attune_sync.standing import owning_pack, pack_standing

DETAILS = {
    "invalid_packs": [
        {"folder": "beta", "ref": "beta", "problems": ["beta/pack.yaml: error: label: required"]},
        {"folder": "broken", "ref": None, "problems": ["broken/pack.yaml: error: not YAML"]},
    ],
    "held_back": [
        {"action": "delete", "kind": "trigger", "ref": "beta.t1", "reason": "used by a rule"},
        {"action": "delete", "kind": "trigger", "ref": "alpha.x.t2", "reason": "used by a rule"},
    ],
}


def test_invalid_wins_over_held_back_and_unknown_folders_are_named() -> None:
    packs = pack_standing({"alpha": {}, "alpha.x": {}, "beta": {}, "gamma": {}}, DETAILS)
    assert packs["gamma"] == {"state": "in_sync"}
    assert packs["beta"]["state"] == "invalid"  # its held-back delete does not hide that
    assert "held_back" not in packs["beta"]
    assert packs["folder:broken"]["state"] == "invalid"
    assert packs["alpha.x"] == {
        "state": "held_back",
        "held_back": [
            {"action": "delete", "kind": "trigger", "ref": "alpha.x.t2", "reason": "used by a rule"}
        ],
    }
    assert packs["alpha"] == {"state": "in_sync"}


def test_known_fields_are_kept() -> None:
    packs = pack_standing({"gamma": {"folder": "g"}}, {})
    assert packs == {"gamma": {"state": "in_sync", "folder": "g"}}


def test_a_component_belongs_to_the_longest_known_pack() -> None:
    assert owning_pack("a.b.c", {"a", "a.b"}, "trigger") == "a.b"
    assert owning_pack("a.b.c", set(), "trigger") == "a.b"
    assert owning_pack("a.b", {"a"}, "pack") == "a.b"
