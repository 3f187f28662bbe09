"""Strict YAML loading: safe, YAML 1.2 scalars, duplicate keys, size and alias limits."""

from __future__ import annotations

import pytest

from attune_sync import yamlload
from attune_sync.reader import check_file
from attune_sync.yamlload import YamlProblem, locate, parse

PACK = "ref: p\nlabel: P\ndescription: d\n"


def problems(text: str, kind: str = "pack") -> list:
    return list(check_file(f"p/{kind}.yaml", text.encode(), kind).problems)  # type: ignore[arg-type]


def test_python_tags_are_refused_not_executed() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("!!python/object/apply:os.system ['echo pwned']\n")
    assert "is not supported" in caught.value.message
    assert caught.value.line == 1


def test_duplicate_key_is_an_error_with_its_line() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("ref: p\nlabel: A\ndescription: d\nlabel: B\n")
    error = caught.value
    assert error.message == "duplicate key 'label'"
    assert (error.line, error.column) == (4, 1)
    assert error.field == "label"


def test_nested_duplicate_key_is_an_error() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("meta:\n  a: 1\n  a: 2\n")
    assert caught.value.line == 3
    assert caught.value.column == 3


def test_duplicate_key_reported_as_file_problem() -> None:
    [problem] = problems(PACK + "ref: q\n")
    assert problem.path == "p/pack.yaml"
    assert problem.line == 4
    assert "duplicate key 'ref'" in problem.message


def test_unquoted_version_1_10_is_an_error_whose_hint_shows_1_10() -> None:
    assert parse("version: 1.10\n") == {"version": 1.1}
    [problem] = problems(PACK + "version: 1.10\n")
    assert problem.field == "version"
    assert problem.line == 4
    assert "expected a string, got the number 1.1" in problem.message
    assert problem.hint == 'quote it so it stays as written: `version: "1.10"`'


def test_quoted_version_is_accepted() -> None:
    assert problems(PACK + 'version: "1.10.0"\n') == []


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF", "y", "n"])
def test_yaml11_booleans_stay_strings_in_string_fields(word: str) -> None:
    data = parse(f"label: {word}\n")
    assert data == {"label": word}
    assert problems(f"ref: p\nlabel: {word}\ndescription: {word}\n") == []


@pytest.mark.parametrize("word", ["yes", "no", "on", "off"])
def test_yaml11_booleans_are_type_errors_in_boolean_fields(word: str) -> None:
    [problem] = problems(PACK + f"is_standard: {word}\n")
    assert problem.field == "is_standard"
    assert problem.line == 4
    assert f"expected true or false, got the string '{word}'" in problem.message
    assert "yes/no/on/off are strings here" in (problem.hint or "")


def test_true_false_are_booleans() -> None:
    assert parse("a: true\nb: false\nc: True\n") == {"a": True, "b": False, "c": True}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2024-01-01", "2024-01-01"),
        ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00Z"),
        ("0755", "0755"),
        ("12:30", "12:30"),
        ("0x1F", "0x1F"),
        (".inf", ".inf"),
    ],
)
def test_yaml11_specials_stay_strings(text: str, value: str) -> None:
    assert parse(f"v: {text}\n") == {"v": value}


def test_dates_in_string_fields_are_accepted() -> None:
    assert problems("ref: p\nlabel: 2024-01-01\ndescription: 12:30\n") == []


def test_plain_numbers_are_numbers() -> None:
    assert parse("a: 10\nb: -3\nc: 1.5\nd: 1e3\n") == {"a": 10, "b": -3, "c": 1.5, "d": 1000.0}
    assert type(parse("a: 1.0\n")["a"]) is float


def test_file_over_the_size_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a: " + "x" * yamlload.MAX_FILE_BYTES + "\n"
    with pytest.raises(YamlProblem) as caught:
        parse(text)
    assert "-byte limit" in caught.value.message
    assert f"{yamlload.MAX_FILE_BYTES:,}" in caught.value.message


def test_oversized_file_on_disk_is_a_problem(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from attune_sync.reader import read_tree

    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "pack.yaml").write_text(PACK + "meta: {x: '" + "y" * 1_100_000 + "'}\n")
    state = read_tree(tmp_path)
    [invalid] = state.invalid
    assert invalid.folder == "p"
    assert "-byte limit" in invalid.problems[0].message
    assert invalid.problems[0].path == "p/pack.yaml"


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
"""


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse(BILLION_LAUGHS)
    assert "expands to more than 100,000 values" in caught.value.message


def test_small_aliases_are_fine() -> None:
    assert parse("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("ref: p\nlabel: [unclosed\ndescription: d\n")
    error = caught.value
    assert error.message.startswith("invalid YAML:")
    assert error.line is not None
    assert error.line >= 2
    assert error.column is not None


def test_bad_indentation_location() -> None:
    [problem] = problems("ref: p\n  label: x\n")
    assert problem.message.startswith("invalid YAML:")
    assert (problem.line, problem.column) == (2, 8)
    assert problem.render().startswith("p/pack.yaml:2:8: error: invalid YAML:")


def test_not_utf8_is_a_problem() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse(b"label: \xff\xfe\n")
    assert "UTF-8" in caught.value.message or "invalid YAML" in caught.value.message


def test_top_level_list_is_a_problem() -> None:
    [problem] = problems("- a\n- b\n")
    assert "must hold one mapping of pack fields, not a list" in problem.message


def test_locate_points_at_the_scalar_and_falls_back_to_parent() -> None:
    text = "a:\n  b: 1.10\n  c: [x, y]\n"
    here = locate(text, ["a", "b"])
    assert here is not None
    assert (here.line, here.column, here.source) == (2, 6, "1.10")
    item = locate(text, ["a", "c", 1])
    assert item is not None
    assert (item.line, item.column) == (3, 10)
    missing = locate(text, ["a", "zzz"])
    assert missing is not None
    assert missing.line == 1


def test_keys_are_kept_as_written_so_they_round_trip_through_json() -> None:
    assert parse("200: ok\ntrue: t\n1.5: x\nnull: n\n") == {
        "200": "ok",
        "true": "t",
        "1.5": "x",
        "null": "n",
    }


def test_merge_keys_fill_in_without_overriding_explicit_keys() -> None:
    text = "base: &b {a: 1, b: 2}\nmore: {<<: *b, b: 3}\nboth: {<<: [*b, {c: 4}]}\n"
    assert parse(text) == {
        "base": {"a": 1, "b": 2},
        "more": {"a": 1, "b": 3},
        "both": {"a": 1, "b": 2, "c": 4},
    }


def test_explicit_standard_tags_are_honoured() -> None:
    assert parse("a: !!str 123\nb: !!int '5'\nc: !!float '2'\n") == {"a": "123", "b": 5, "c": 2.0}


def test_explicit_tags_outside_json_are_refused_with_their_line() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("a: 1\nb: !!binary aGVsbG8=\n")
    assert "is not supported" in caught.value.message
    assert caught.value.line == 2


def test_a_bad_explicit_number_is_refused() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("a: !!int twelve\n")
    assert "'twelve' is not a number" in caught.value.message


def test_a_mapping_used_as_a_key_is_refused() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("? {a: 1}\n: x\n")
    assert "a key must be a plain value" in caught.value.message


def test_a_merge_of_a_scalar_is_refused() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("a: {<<: 5}\n")
    assert "merge key" in caught.value.message


def test_numbers_too_large_for_a_float_are_refused_not_stored_as_infinity() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("meta:\n  x: 1e400\n")
    assert "1e400 is too large to store as a number" in caught.value.message
    assert caught.value.line == 2


def test_nul_characters_are_refused_in_values_and_keys() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse('label: "a\\0b"\n')
    assert "NUL" in caught.value.message
    with pytest.raises(YamlProblem):
        parse('"k\\0": 1\n')
