"""The boolean query language: precedence (OR binds tighter than AND), phrases, escapes,
parentheses, and every malformed form rejected with its position."""

from __future__ import annotations

import pytest
from anygram.errors import InvalidQueryError, QueryParseError
from anygram.query_language import QueryLimits, format_query, parse_query
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "cnf"),
    [
        ("york", [["york"]]),
        ("new york", [["new york"]]),
        ('"new york" AND (city OR state)', [["new york"], ["city", "state"]]),
        ("a OR b AND c OR d", [["a", "b"], ["c", "d"]]),
        (
            "natural language processing OR artificial intelligence AND deep learning",
            [["natural language processing", "artificial intelligence"], ["deep learning"]],
        ),
        ("a AND (b OR (c OR d))", [["a"], ["b", "c", "d"]]),
        ("(a) AND ((b))", [["a"], ["b"]]),
        ('"AND" AND "or OR"', [["AND"], ["or OR"]]),
        ("cats and dogs or mice", [["cats and dogs or mice"]]),
        ('"say \\"hi\\"" OR "back\\\\slash"', [['say "hi"', "back\\slash"]]),
        ('"  spaced  "', [["  spaced  "]]),
        ("  many   spaces\there ", [["many spaces here"]]),
    ],
)
def test_parses(text, cnf) -> None:
    assert parse_query(text) == cnf


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ("AND a", 0, "empty clause"),
        ("a AND", 5, "empty clause"),
        ("a OR", 4, "empty clause"),
        ("a AND AND b", 6, "empty clause"),
        ("a OR OR b", 5, "empty clause"),
        ("()", 0, "empty parentheses"),
        ("a AND (b", 6, "unclosed parenthesis"),
        ("((a OR b)", 0, "unclosed parenthesis"),
        ("a)", 1, "unmatched ')'"),
        ("a AND b) OR c", 7, "unmatched ')'"),
        ('"abc', 0, "unterminated quote"),
        ('a AND "b', 6, "unterminated quote"),
        ('""', 0, "empty phrase"),
        ("(a AND b) OR c", 3, "AND inside parentheses"),
        ("a AND b AND c AND d AND e", 24, "too many clauses"),
        ("x AND (a OR b OR c OR d OR e)", 6, "too many terms"),
        ('(a "b")', 3, "expected ')'"),
        ("((a) OR (b AND c))", 11, "AND inside parentheses"),
        ("((a) OR )", 8, "unmatched ')'"),
        ("(a OR (b OR", 11, "empty clause"),
    ],
)
def test_errors_name_the_position(text, position, words) -> None:
    with pytest.raises(QueryParseError) as e:
        parse_query(text)
    assert e.value.position == position
    assert words in str(e.value)
    assert f"position {position}" in str(e.value) or "longer than" in str(e.value)
    assert isinstance(e.value, InvalidQueryError)
    assert isinstance(e.value, ValueError)


def test_limits() -> None:
    with pytest.raises(QueryParseError, match="longer than the limit"):
        parse_query("a" * 1001)
    loose = QueryLimits(max_clauses=None, max_terms_per_clause=None, max_query_chars=None)
    assert len(parse_query(" AND ".join("abcdefgh"), loose)) == 8
    assert len(parse_query(" OR ".join("abcdefgh"), loose)[0]) == 8
    assert parse_query("a AND b", QueryLimits(max_clauses=2)) == [["a"], ["b"]]
    with pytest.raises(QueryParseError, match="too many clauses"):
        parse_query("a AND b AND c", QueryLimits(max_clauses=2))
    with pytest.raises(QueryParseError):
        parse_query(123)  # type: ignore[arg-type]


terms = st.text(min_size=1, max_size=8)
cnfs = st.lists(st.lists(terms, min_size=1, max_size=4), min_size=1, max_size=4)


@given(cnfs)
def test_format_then_parse_round_trips(cnf) -> None:
    assert parse_query(format_query(cnf)) == cnf


def test_deep_nesting_is_refused_with_its_position_not_a_recursion_error() -> None:
    """988 nested parentheses (within the server's 16,000 characters) once raised
    RecursionError; now the depth limit answers, at the first parenthesis past it."""
    text = "(" * 988 + "a" + ")" * 988
    with pytest.raises(QueryParseError, match="nested deeper than 32") as e:
        parse_query(text, QueryLimits(max_query_chars=None))
    assert e.value.position == 32
    assert parse_query("(" * 32 + "a" + ")" * 32) == [["a"]]


def test_the_parser_is_iterative_without_a_depth_limit() -> None:
    """No limit on depth: 100,000 levels parse (far past Python's recursion limit)."""
    n = 100_000
    text = "(" * n + "a OR b" + ")" * n + " AND c"
    assert parse_query(text, QueryLimits(max_query_chars=None, max_depth=None)) == [
        ["a", "b"],
        ["c"],
    ]
    with pytest.raises(QueryParseError, match="unclosed parenthesis") as e:
        parse_query("(" * n + "a", QueryLimits(max_query_chars=None, max_depth=None))
    assert e.value.position == n - 1
