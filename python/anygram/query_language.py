"""The text query language of boolean (CNF) search, shared by the API, CLI, server and web page.

A query is clauses joined by ``AND``; a clause is terms joined by ``OR``; a term is a phrase in
double quotes or a run of bare words. **OR binds tighter than AND**, as in infini-gram, so every
query is already in conjunctive normal form::

    "new york" AND (city OR state)       ->  [["new york"], ["city", "state"]]
    natural language processing OR nlp AND deep learning
                                         ->  [["natural language processing", "nlp"],
                                              ["deep learning"]]

Parentheses group ``OR``-ed terms and may nest; an ``AND`` inside parentheses would make the query
something other than a CNF and is rejected. Operators are the upper-case words ``AND`` and
``OR``; inside quotes they are plain text, as are ``\\"`` (a quote) and ``\\\\`` (a backslash).
Bare words of a term are joined by single spaces; a phrase is kept exactly as written.

Every error is a :class:`~anygram.errors.QueryParseError` naming the position (0-based character
offset) where the problem is, and the limits (:class:`QueryLimits`, infini-gram's API defaults)
are checked here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import QueryParseError
from .limits import DEFAULT_LIMITS, QueryLimits

__all__ = [
    "DEFAULT_LIMITS",
    "QueryLimits",
    "QueryReading",
    "format_query",
    "parse_query",
    "query_reading",
]


_OPERATORS = ("AND", "OR")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "word", "phrase", "AND", "OR", "(", ")"
    text: str
    pos: int


def _lex(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "()":
            out.append(_Tok(c, c, i))
            i += 1
        elif c == '"':
            start, i, buf = i, i + 1, []
            while True:
                if i >= n:
                    raise QueryParseError(f"unterminated quote opened at position {start}", start)
                if text[i] == "\\" and i + 1 < n and text[i + 1] in '"\\':
                    buf.append(text[i + 1])
                    i += 2
                elif text[i] == '"':
                    i += 1
                    break
                else:
                    buf.append(text[i])
                    i += 1
            phrase = "".join(buf)
            if not phrase:
                raise QueryParseError(f"empty phrase at position {start}", start)
            out.append(_Tok("phrase", phrase, start))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '()"':
                i += 1
            word = text[start:i]
            out.append(_Tok(word if word in _OPERATORS else "word", word, start))
    return out


class _Parser:
    def __init__(self, text: str, limits: QueryLimits) -> None:
        self.text = text
        self.limits = limits
        self.toks = _lex(text)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def end_pos(self) -> int:
        return len(self.text)

    def where(self) -> int:
        t = self.peek()
        return t.pos if t is not None else self.end_pos()

    def query(self) -> list[list[str]]:
        clauses = [self.clause()]
        while (t := self.peek()) is not None:
            if t.kind == "AND":
                self.i += 1
                start = self.where()
                clauses.append(self.clause())
                cap = self.limits.max_clauses
                if cap is not None and len(clauses) > cap:
                    raise QueryParseError(
                        f"too many clauses: more than {cap} (the limit) at position {start}",
                        start,
                    )
            elif t.kind == ")":
                raise QueryParseError(f"unmatched ')' at position {t.pos}", t.pos)
            else:  # pragma: no cover - clause() consumes everything else
                raise QueryParseError(f"unexpected {t.text!r} at position {t.pos}", t.pos)
        return clauses

    def clause(self) -> list[str]:
        start = self.where()
        terms = self.item()
        while (t := self.peek()) is not None and t.kind == "OR":
            self.i += 1
            terms.extend(self.item())
        cap = self.limits.max_terms_per_clause
        if cap is not None and len(terms) > cap:
            raise QueryParseError(
                f"too many terms in the clause at position {start}: {len(terms)} "
                f"(the limit is {cap})",
                start,
            )
        return terms

    def item(self) -> list[str]:
        """One term, or parenthesized OR-ed terms (nested to any depth up to the limit).

        Iterative: nesting is a stack of the open parentheses, never Python recursion, so no
        input can exhaust the interpreter's stack."""
        terms: list[str] = []
        opens: list[_Tok] = []
        while True:
            t = self.peek()
            if t is None:
                pos = self.end_pos()
                raise QueryParseError(f"empty clause at position {pos}: a term is missing", pos)
            if t.kind == "(":
                cap = self.limits.max_depth
                if cap is not None and len(opens) >= cap:
                    raise QueryParseError(
                        f"parentheses nested deeper than {cap} (the limit) at position {t.pos}",
                        t.pos,
                    )
                self.i += 1
                inner = self.peek()
                if inner is not None and inner.kind == ")":
                    raise QueryParseError(f"empty parentheses at position {t.pos}", t.pos)
                opens.append(t)
                continue
            terms.append(self.term(t))
            # After a term: inside parentheses, OR goes on to the next term and ')' closes one.
            while opens:
                u = self.peek()
                if u is None:
                    pos = opens[-1].pos
                    raise QueryParseError(f"unclosed parenthesis opened at position {pos}", pos)
                if u.kind == "OR":
                    self.i += 1
                    break
                if u.kind == "AND":
                    raise QueryParseError(
                        f"AND inside parentheses at position {u.pos}: a query is clauses joined "
                        "by AND, each clause terms joined by OR (OR binds tighter than AND), so "
                        "parentheses may only group OR-ed terms",
                        u.pos,
                    )
                if u.kind != ")":
                    raise QueryParseError(f"expected ')' at position {u.pos}", u.pos)
                self.i += 1
                opens.pop()
            else:
                return terms

    def term(self, t: _Tok) -> str:
        """The phrase or run of bare words starting at ``t``."""
        if t.kind in _OPERATORS:
            raise QueryParseError(
                f"empty clause at position {t.pos}: {t.kind} needs a term before it", t.pos
            )
        if t.kind == ")":
            raise QueryParseError(f"unmatched ')' at position {t.pos}", t.pos)
        if t.kind == "phrase":
            self.i += 1
            return t.text
        words = []
        while (u := self.peek()) is not None and u.kind == "word":
            words.append(u.text)
            self.i += 1
        return " ".join(words)


def parse_query(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> list[list[str]]:
    """Parses a boolean query into a CNF of term strings: ``[[term, ...], ...]`` (clauses of
    OR-ed terms, AND-ed together).

    Raises
    ------
    QueryParseError
        With the 0-based character position of the problem (also in ``.position``).

    Examples
    --------
    >>> parse_query('"new york" AND (city OR state)')
    [['new york'], ['city', 'state']]
    >>> parse_query("deep learning OR machine learning AND gpu")
    [['deep learning', 'machine learning'], ['gpu']]
    >>> parse_query("a AND (b")
    Traceback (most recent call last):
    ...
    anygram.errors.QueryParseError: unclosed parenthesis opened at position 6
    """
    if not isinstance(text, str):
        raise QueryParseError(f"a query is a str, not {type(text).__name__}", 0)
    cap = limits.max_query_chars
    if cap is not None and len(text) > cap:
        raise QueryParseError(
            f"query of {len(text)} characters is longer than the limit of {cap}", cap
        )
    parser = _Parser(text, limits)
    if not parser.toks:
        raise QueryParseError("empty query at position 0", 0)
    return parser.query()


def format_query(cnf: list[list[str]]) -> str:
    """The text form of a CNF of term strings (every term quoted); ``parse_query`` inverts it.

    >>> format_query([["new york"], ["city", "state"]])
    '"new york" AND ("city" OR "state")'
    """

    parts = []
    for clause in cnf:
        inner = " OR ".join(_quote(t) for t in clause)
        parts.append(f"({inner})" if len(clause) > 1 else inner)
    return " AND ".join(parts)


@dataclass(frozen=True)
class QueryReading:
    """How a text query is read: as a ``"boolean"`` query (this module's language) or as one
    ``"phrase"`` (exact text). ``text`` is what is searched: the boolean query, or the phrase
    (a quoted phrase without its quotes)."""

    kind: Literal["boolean", "phrase"]
    text: str

    def describe(self) -> str:
        """A short description for answers: ``boolean query "a" AND "b"``, ``phrase "x"``."""
        if self.kind == "boolean":
            return "boolean query " + format_query(parse_query(self.text, _NO_LIMITS))
        return "phrase " + _quote(self.text)


_NO_LIMITS = QueryLimits(None, None, None, None, None)


def _has_operator(text: str) -> bool:
    """Whether ``AND`` or ``OR`` occurs as an operator (outside quotes). An unterminated quote
    counts as outside, so a mistyped boolean query is parsed and its error shown."""
    try:
        return any(t.kind in _OPERATORS for t in _lex(text))
    except QueryParseError:
        return any(w in _OPERATORS for w in text.replace("(", " ").replace(")", " ").split())


def query_reading(text: str, boolean: bool | None = None) -> QueryReading:
    """The one rule that says how a text query is read, for the API, the CLI and the server.

    ``boolean=True`` reads the text as a boolean query, ``boolean=False`` as the phrase it is,
    character for character. By default (``None``) a query is boolean only when it uses ``AND``
    or ``OR`` outside quotes; a query that is one quoted phrase is that phrase; anything else is
    the text as typed, parentheses and quotes included.

    >>> query_reading("(self)")
    QueryReading(kind='phrase', text='(self)')
    >>> query_reading('"hello"')
    QueryReading(kind='phrase', text='hello')
    >>> query_reading('"quoted" text')
    QueryReading(kind='phrase', text='"quoted" text')
    >>> query_reading("cat AND (dog OR mouse)").kind
    'boolean'
    >>> query_reading('"cat AND dog"')
    QueryReading(kind='phrase', text='cat AND dog')
    >>> query_reading("self", boolean=True).kind
    'boolean'
    """
    if boolean is True or (boolean is None and _has_operator(text)):
        return QueryReading("boolean", text)
    if boolean is None:
        try:
            toks = _lex(text)
        except QueryParseError:
            toks = []
        if len(toks) == 1 and toks[0].kind == "phrase":
            return QueryReading("phrase", toks[0].text)
    return QueryReading("phrase", text)


def _quote(term: str) -> str:
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
