"""Issue 10 §4 and §6: bounded depth, one parse per file, and messages that say what is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from attune_sync import yamlload
from attune_sync.reader import check_file
from attune_sync.yamlload import MAX_DEPTH, YamlProblem, parse

PACK = "ref: p\nlabel: P\ndescription: d\n"


def nested(depth: int, leaf: str = "1") -> str:
    """A flow mapping `depth` levels deep."""
    return "{a: " * depth + leaf + "}" * depth


def test_tabs_used_for_indentation_say_so() -> None:
    for text in ("a:\n\tb: 1\n", "meta:\n  b: 1\n\tc: 2\n"):
        with pytest.raises(YamlProblem) as caught:
            parse(text)
        assert "tab" in caught.value.message
        assert "indentation" in caught.value.message
        assert caught.value.line is not None
        assert "spaces" in (caught.value.hint or "")


def test_a_non_utf8_file_error_has_line_and_column() -> None:
    raw = "ref: p\nlabel: caf\xe9\n".encode("latin-1")
    with pytest.raises(YamlProblem) as caught:
        parse(raw)
    error = caught.value
    assert error.message.startswith("not UTF-8 text")
    assert (error.line, error.column) == (2, 11)
    assert "UTF-8" in (error.hint or "")


def test_an_unknown_keys_column_points_at_the_key() -> None:
    text = PACK + "labell:   Pack\n"
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert problem.message == "unknown field 'labell'"
    assert (problem.line, problem.column) == (4, 1)
    text = PACK + "meta: {}\nextra:\n  nested: 1\n"
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert (problem.line, problem.column) == (5, 1)


def test_nesting_past_the_limit_is_a_clear_error_with_a_line() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("meta: " + nested(MAX_DEPTH + 5) + "\n")
    assert f"more than {MAX_DEPTH} levels" in caught.value.message
    assert caught.value.line == 1


def test_deep_nesting_of_hundreds_of_levels_is_a_clear_error() -> None:
    with pytest.raises(YamlProblem) as caught:
        parse("meta: " + "[" * 900 + "]" * 900 + "\n")
    assert "nested" in caught.value.message


@pytest.mark.parametrize("field", ["meta", "config"])
def test_a_value_just_under_the_depth_limit_checks_cleanly(field: str) -> None:
    text = PACK + f"{field}: " + nested(MAX_DEPTH - 2, "{}") + "\n"
    schema = "conf_schema: {type: object, properties: {a: {$ref: '#'}}}\n"
    document = check_file("p/pack.yaml", (text + schema).encode(), "pack")
    assert document.problems == ()


def test_a_config_nested_deeply_against_a_recursive_schema_is_checked() -> None:
    schema = "conf_schema: {type: object, properties: {a: {$ref: '#'}}, required: [b]}\n"
    text = PACK + schema + "config: " + nested(MAX_DEPTH - 2) + "\n"
    problems = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert problems
    assert all(problem.field is not None for problem in problems)


def test_every_problem_of_a_file_is_located_from_one_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    composed: list[Any] = []
    compose = yamlload._compose

    def counting(text: bytes | str) -> Any:
        composed.append(text)
        return compose(text)

    monkeypatch.setattr(yamlload, "_compose", counting)
    text = PACK + "".join(f"unknown_{i}: {i}\n" for i in range(2000))
    problems = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert len(problems) == 2000
    assert len(composed) == 1
    assert problems[-1].line == 2003


def test_a_file_that_is_not_a_mapping_is_quoted_as_a_short_excerpt() -> None:
    text = "root:x:0:0:root:/root:/bin/bash " * 40
    [problem] = check_file("p/pack.yaml", text.encode(), "pack").problems
    assert "must hold one mapping" in problem.message
    assert len(problem.message) < 200
    assert "characters" in problem.message


def test_a_long_scalar_is_quoted_as_a_short_excerpt() -> None:
    for text in ("a: !!int " + "9x" * 500 + "\n", "a: !custom " + "x" * 500 + "\n"):
        with pytest.raises(YamlProblem) as caught:
            parse(text)
        assert len(caught.value.message) < 120
