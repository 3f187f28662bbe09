"""The read cache's pure side: payloads that round-trip exactly, and what an apply rewrites."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from attune_sync import readcache
from attune_sync.documents import Document, DocumentCache, check_file
from attune_sync.fingerprint import fingerprint
from attune_sync.problem import Problem


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (1, 1.0 and True are not the same)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=25,
)


@given(
    data=st.dictionaries(st.text(), values, max_size=6), problems=st.lists(st.text(), max_size=2)
)
def test_a_payload_gives_back_exactly_the_documents_it_was_made_of(
    data: dict[str, Any], problems: list[str]
) -> None:
    document = Document(
        "p/triggers/t.yaml",
        "ab" * 16,
        data,
        tuple(Problem("p/triggers/t.yaml", text, 3, 1, "label", "fix it") for text in problems),
    )
    (back,) = readcache.decode(readcache.encode([document])) or [None]
    assert back is not None
    assert back.relpath == document.relpath
    assert back.digest == document.digest
    assert same(back.data, document.data)
    assert back.problems == document.problems


@given(text=st.text(max_size=200) | st.dictionaries(st.text(), values, max_size=6).map(yaml.dump))
def test_whatever_a_file_holds_its_document_round_trips(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    document = check_file("p/sensors/s.yaml", raw, "sensor", "cd" * 16)
    (back,) = readcache.decode(readcache.encode([document])) or [None]
    assert back is not None
    assert same(back.data, document.data)
    assert back.problems == document.problems


def test_a_payload_that_does_not_decode_is_not_trusted() -> None:
    assert readcache.decode(b"not zlib") is None
    assert readcache.decode(readcache.encode([])[:-3]) is None
    import zlib

    assert readcache.decode(zlib.compress(b'[["only", "two"]]')) is None
    assert readcache.decode(zlib.compress(b'{"a": 1}')) is None


def test_the_fingerprint_is_stable_within_a_process() -> None:
    assert fingerprint() == fingerprint()
    assert len(fingerprint()) == 32


def _doc(relpath: str, digest: str = "d1") -> Document:
    return Document(relpath, digest, {}, ())


def test_seeded_documents_are_never_taken_by_their_stat_signature() -> None:
    cache = DocumentCache()
    assert readcache.seed(cache, [_doc("p/pack.yaml")]) == 1
    assert cache.get("p/pack.yaml", readcache.UNKNOWN_SIGNATURE) is not None
    assert cache.get("p/pack.yaml", (1, 2, 3, 4)) is None
    assert cache.by_digest("p/pack.yaml", "d1") is not None
    # What the process itself read wins over what was stored.
    cache.put((1, 2, 3, 4), _doc("q/pack.yaml", "new"))
    assert readcache.seed(cache, [_doc("q/pack.yaml", "old")]) == 0
    assert cache.by_digest("q/pack.yaml", "new") is not None


def test_rewrite_writes_changed_folders_and_forgets_gone_ones() -> None:
    a = [_doc("a/pack.yaml"), _doc("a/triggers/t.yaml")]
    b = [_doc("b/pack.yaml", "d2")]
    stored = {"a": readcache.folder_key(a), "b": "stale", "gone": "x", "emptied": "y"}
    change = readcache.rewrite(stored, {"a": a, "b": b, "emptied": []}, ["a", "b", "emptied"])
    assert list(change.write) == ["b"]
    assert change.forget == ["emptied", "gone"]
    assert change.stored == {"a": stored["a"], "b": readcache.folder_key(b)}


def test_a_folder_key_follows_paths_and_digests_not_order() -> None:
    one, two = _doc("a/pack.yaml"), _doc("a/triggers/t.yaml", "d2")
    assert readcache.folder_key([one, two]) == readcache.folder_key([two, one])
    assert readcache.folder_key([one, two]) != readcache.folder_key([one, _doc(two.relpath)])


def test_files_just_hashed_are_filed_under_their_stat_so_they_are_not_read_again() -> None:
    cache = DocumentCache()
    stored = [_doc("p/pack.yaml", "same"), _doc("p/triggers/t.yaml", "old")]
    seen = {"p/pack.yaml": ((1, 2, 3, 4), "same"), "p/triggers/t.yaml": ((5, 6, 7, 8), "new")}
    assert readcache.seed(cache, stored, seen) == 2
    assert cache.get("p/pack.yaml", (1, 2, 3, 4)) is not None
    # Bytes that changed since the apply stored them: read, hashed and parsed as usual.
    assert cache.get("p/triggers/t.yaml", (5, 6, 7, 8)) is None
    assert cache.entries["p/triggers/t.yaml"][0] == readcache.UNKNOWN_SIGNATURE
