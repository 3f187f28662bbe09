"""Reading a packs tree: what is a pack, identity by ref, clashes, strays, vanishing files."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from attune_sync.reader import (
    DocumentCache,
    LocalFileSystem,
    TreeChanged,
    TreeUnreadable,
    read_tree,
)
from core.trees import pack_doc, sensor_doc, trigger_doc

MakeTree = Callable[[dict[str, str]], Path]


def test_bundled_tree_counts(bundled: Path) -> None:
    state = read_tree(bundled)
    assert state.invalid == []
    assert state.warnings == []
    assert len(state.packs) == 8
    assert sum(len(b.triggers) for b in state.packs.values()) == 13
    assert sum(len(b.sensors) for b in state.packs.values()) == 6
    assert state.packs["core"].triggers["core.manual"].source == "core/triggers/manual.yaml"
    assert "monitoring.disk_space" in state.packs["monitoring"].sensors


def test_pack_is_a_direct_subfolder_with_pack_yaml_or_yml(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "one/pack.yaml": pack_doc("one"),
            "two/pack.yml": pack_doc("two"),
            "notapack/readme.txt": "hello",
            "loose.yaml": pack_doc("loose"),
            "outer/inner/pack.yaml": pack_doc("inner"),
        }
    )
    state = read_tree(root)
    assert sorted(state.packs) == ["one", "two"]
    assert state.invalid == []
    [warning] = state.warnings
    assert warning.path == "outer/inner/pack.yaml"
    assert warning.severity == "warning"
    assert warning.message == "this YAML file is not read"


def test_both_pack_yaml_and_pack_yml_is_an_error(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "p/pack.yml": pack_doc("p")})
    [invalid] = read_tree(root).invalid
    assert invalid.ref == "p"
    assert invalid.problems[0].message == "both pack.yaml and pack.yml exist"


def test_dot_folders_and_dot_files_are_ignored(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            ".git/pack.yaml": pack_doc("git"),
            ".worktrees/abc/p/pack.yaml": pack_doc("p"),
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/.hidden.yaml": "not: [valid",
            "p/.cache/x.yaml": "x: 1",
        }
    )
    state = read_tree(root)
    assert list(state.packs) == ["p"]
    assert state.packs["p"].triggers == {}
    assert state.warnings == []


def test_identity_is_the_ref_not_the_folder(make_tree: MakeTree) -> None:
    root = make_tree({"some-folder/pack.yaml": pack_doc("real.ref")})
    bundle = read_tree(root).packs["real.ref"]
    assert bundle.folder == "some-folder"
    assert bundle.pack.ref == "real.ref"


def test_two_folders_with_one_ref_name_both_and_apply_neither(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "a/pack.yaml": pack_doc("dup"),
            "b/pack.yaml": pack_doc("dup", label="Other"),
            "ok/pack.yaml": pack_doc("ok"),
        }
    )
    state = read_tree(root)
    assert list(state.packs) == ["ok"]
    assert [(i.folder, i.ref) for i in state.invalid] == [("a", "dup"), ("b", "dup")]
    assert state.invalid[0].problems[0].message == "pack ref 'dup' is also declared by b/"
    assert state.invalid[1].problems[0].message == "pack ref 'dup' is also declared by a/"


def test_same_ref_as_an_invalid_folder_blocks_the_valid_one(make_tree: MakeTree) -> None:
    root = make_tree(
        {"a/pack.yaml": pack_doc("dup"), "b/pack.yaml": pack_doc("dup", extra="x: 1\n")}
    )
    state = read_tree(root)
    assert state.packs == {}
    folders = {i.folder: [p.message for p in i.problems] for i in state.invalid}
    assert "pack ref 'dup' is also declared by b/" in folders["a"]
    assert "pack ref 'dup' is also declared by a/" in folders["b"]


def test_duplicate_trigger_refs_across_packs(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "a/pack.yaml": pack_doc("a"),
            "a/triggers/x.yaml": "ref: a.b.x\nlabel: X\n",
            "ab/pack.yaml": pack_doc("a.b"),
            "ab/triggers/x.yaml": trigger_doc(),
            "c/pack.yaml": pack_doc("c"),
        }
    )
    state = read_tree(root)
    assert list(state.packs) == ["c"]
    problems = {i.folder: i.problems for i in state.invalid}
    [pa] = problems["a"]
    [pb] = problems["ab"]
    assert pa.path == "a/triggers/x.yaml"
    assert pa.message == "trigger a.b.x is also declared by ab/triggers/x.yaml"
    assert pb.message == "trigger a.b.x is also declared by a/triggers/x.yaml"


def test_duplicate_ref_within_one_pack(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": trigger_doc(),
            "p/triggers/u.yaml": "ref: p.t\nlabel: U\n",
        }
    )
    [invalid] = read_tree(root).invalid
    [problem] = invalid.problems
    assert problem.path == "p/triggers/u.yaml"
    assert problem.message == "trigger ref 'p.t' is also declared by p/triggers/t.yaml"


def test_stray_yaml_is_a_warning_not_an_error(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": trigger_doc(),
            "p/triggers/sub/x.yaml": trigger_doc(),
            "p/extra.yaml": "a: 1",
            # Issue 12: actions/ is read now; its workflows/ holds workflow files, not actions.
            "p/actions/workflows/run.yaml": "a: 1",
        }
    )
    state = read_tree(root)
    assert list(state.packs["p"].triggers) == ["p.t"]
    by_path = {w.path: w for w in state.warnings}
    assert set(by_path) == {"p/triggers/sub/x.yaml", "p/extra.yaml"}
    assert all(w.severity == "warning" for w in state.warnings)
    assert by_path["p/triggers/sub/x.yaml"].message == "this YAML file is not read"
    assert state.problems == state.warnings


def test_components_without_pack_yaml_are_an_invalid_pack(make_tree: MakeTree) -> None:
    # Changed by issue 10: a pack.yaml renamed by mistake must never read as a deletion.
    root = make_tree({"orphan/triggers/t.yaml": trigger_doc()})
    state = read_tree(root)
    assert state.packs == {}
    [invalid] = state.invalid
    assert (invalid.folder, invalid.ref) == ("orphan", None)
    [problem] = invalid.problems
    assert problem.path == "orphan"
    assert "no pack.yaml" in problem.message


def test_missing_root_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TreeUnreadable, match="does not exist"):
        read_tree(tmp_path / "nope")


def test_root_that_is_a_file_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(TreeUnreadable, match="is not a folder"):
        read_tree(tmp_path / "f")


def test_root_through_symlink_is_resolved(make_tree: MakeTree, tmp_path: Path) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p")})
    link = tmp_path / "link"
    link.symlink_to(root)
    state = read_tree(link)
    assert state.root == str(root.resolve())
    assert list(state.packs) == ["p"]


class _DeleteAfterListing(LocalFileSystem):
    """Lists a folder, then deletes `victim` before the reader gets to it."""

    def __init__(self, listed: Path, victim: Path) -> None:
        self.listed, self.victim = listed, victim

    def scandir(self, path: str) -> list[os.DirEntry[str]]:
        found = super().scandir(path)
        if path == str(self.listed) and self.victim.exists():
            if self.victim.is_dir():
                for child in self.victim.iterdir():
                    child.unlink()
                self.victim.rmdir()
            else:
                self.victim.unlink()
        return found


def test_file_vanishing_between_listing_and_reading_is_tree_changed(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "p/triggers/t.yaml": trigger_doc()})
    victim = root / "p" / "triggers" / "t.yaml"
    fs = _DeleteAfterListing(root / "p" / "triggers", victim)
    with pytest.raises(TreeChanged, match=r"p/triggers/t\.yaml vanished while being read"):
        read_tree(root, fs=fs)


class _DeleteBeforeOpen(LocalFileSystem):
    def __init__(self, victim: Path) -> None:
        self.victim = victim

    def read(self, path: str) -> bytes:
        if path == str(self.victim) and self.victim.exists():
            self.victim.unlink()
        return super().read(path)


def test_file_vanishing_between_stat_and_open_is_tree_changed(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "p/triggers/t.yaml": trigger_doc()})
    fs = _DeleteBeforeOpen(root / "p" / "triggers" / "t.yaml")
    with pytest.raises(TreeChanged, match="vanished"):
        read_tree(root, fs=fs)


def test_folder_vanishing_mid_read_is_tree_changed(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "q/pack.yaml": pack_doc("q")})
    fs = _DeleteAfterListing(root / "p", root / "q")
    with pytest.raises(TreeChanged, match="vanished while being read"):
        read_tree(root, fs=fs)


def test_unparsable_pack_yaml_is_invalid_without_ref(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": "ref: p\nlabel: [\n", "p/triggers/t.yaml": trigger_doc()})
    [invalid] = read_tree(root).invalid
    assert invalid.ref is None
    assert invalid.folder == "p"
    assert invalid.problems[0].path == "p/pack.yaml"
    assert invalid.problems[0].message.startswith("invalid YAML")


def test_broken_component_makes_its_pack_invalid_with_ref(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "p/pack.yaml": pack_doc("p"),
            "p/sensors/s.yaml": sensor_doc("p.t") + "enabled: yes\n",
            "q/pack.yaml": pack_doc("q"),
        }
    )
    state = read_tree(root)
    assert list(state.packs) == ["q"]
    [invalid] = state.invalid
    assert invalid.ref == "p"
    [problem] = invalid.problems
    assert (problem.path, problem.line, problem.field) == ("p/sensors/s.yaml", 6, "enabled")
    assert state.invalid_refs == {"p"}


def test_cache_reparses_only_changed_files(make_tree: MakeTree) -> None:
    root = make_tree({"p/pack.yaml": pack_doc("p"), "p/triggers/t.yaml": trigger_doc()})
    cache = DocumentCache()
    first = read_tree(root, cache)
    assert cache.parsed == 2
    again = read_tree(root, cache)
    assert cache.parsed == 2
    assert again.packs["p"].content_hash == first.packs["p"].content_hash
    (root / "p" / "triggers" / "t.yaml").write_text(trigger_doc("Changed label"))
    changed = read_tree(root, cache)
    assert cache.parsed == 3
    assert changed.packs["p"].triggers["p.t"].label == "Changed label"
    assert changed.packs["p"].content_hash != first.packs["p"].content_hash
    (root / "p" / "triggers" / "t.yaml").unlink()
    read_tree(root, cache)
    assert set(cache.entries) == {"p/pack.yaml"}


def test_defaults_of_optional_fields(make_tree: MakeTree) -> None:
    root = make_tree(
        {
            "p/pack.yaml": pack_doc("p"),
            "p/triggers/t.yaml": "label: T\n",
            "p/sensors/s.yaml": sensor_doc("p.t"),
        }
    )
    bundle = read_tree(root).packs["p"]
    trigger = bundle.triggers["p.t"]
    assert (trigger.enabled, trigger.description, trigger.param_schema) == (True, None, None)
    assert bundle.sensors["p.s"].enabled is True
    assert bundle.pack.tags == ()
    assert bundle.pack.is_standard is False


def test_progress_is_reported_for_every_pack_folder(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pack.yaml").write_text(f"ref: {name}\nlabel: L\ndescription: D\n")
    (tmp_path / ".hidden").mkdir()
    seen: list[tuple[int, int]] = []
    read_tree(tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def _simple_pack(root: Path, name: str) -> None:
    (root / name / "triggers").mkdir(parents=True)
    (root / name / "pack.yaml").write_text(f"ref: {name}\nlabel: L\ndescription: D\n")
    (root / name / "triggers" / "t.yaml").write_text("label: T\n")


def test_a_dangling_pack_yaml_link_is_an_invalid_pack_not_an_absent_one(tmp_path: Path) -> None:
    _simple_pack(tmp_path, "a")
    (tmp_path / "a" / "pack.yaml").unlink()
    (tmp_path / "a" / "pack.yaml").symlink_to(tmp_path / "nowhere")
    state = read_tree(tmp_path)
    [broken] = state.invalid
    assert (broken.folder, broken.ref) == ("a", None)
    assert broken.problems[0].path == "a/pack.yaml"
    assert "not a readable file" in broken.problems[0].message


def test_a_dangling_component_link_makes_the_pack_invalid(tmp_path: Path) -> None:
    _simple_pack(tmp_path, "b")
    (tmp_path / "b" / "triggers" / "t.yaml").unlink()
    (tmp_path / "b" / "triggers" / "t.yaml").symlink_to(tmp_path / "nowhere")
    state = read_tree(tmp_path)
    assert state.packs == {}
    assert [p.path for p in state.invalid[0].problems] == ["b/triggers/t.yaml"]


def test_a_triggers_entry_that_is_not_a_folder_makes_the_pack_invalid(tmp_path: Path) -> None:
    _simple_pack(tmp_path, "c")
    for child in (tmp_path / "c" / "triggers").iterdir():
        child.unlink()
    (tmp_path / "c" / "triggers").rmdir()
    (tmp_path / "c" / "triggers").write_text("oops")
    state = read_tree(tmp_path)
    assert [p.path for p in state.invalid[0].problems] == ["c/triggers"]


class _Denying(LocalFileSystem):
    def scandir(self, path: str) -> list[os.DirEntry[str]]:
        if path.endswith("/d/triggers"):
            raise PermissionError(13, "Permission denied")
        return super().scandir(path)


def test_an_unlistable_pack_folder_is_invalid_not_absent(tmp_path: Path) -> None:
    _simple_pack(tmp_path, "d")
    state = read_tree(tmp_path, fs=_Denying())
    [broken] = state.invalid
    assert (broken.folder, broken.ref) == ("d", None)
    assert "cannot be read: Permission denied" in broken.problems[0].message


def test_a_symlink_loop_below_a_pack_is_not_followed(tmp_path: Path) -> None:
    _simple_pack(tmp_path, "e")
    (tmp_path / "e" / "docs").mkdir()
    (tmp_path / "e" / "docs" / "root").symlink_to(tmp_path)
    state = read_tree(tmp_path)
    assert set(state.packs) == {"e"}
    assert state.warnings == []
