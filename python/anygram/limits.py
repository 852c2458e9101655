"""Query limits and defaults, in one place: the Python API (:class:`~anygram.Index`), the CLI and
the HTTP server all read them from here, so a default can never differ between them.

``DEFAULTS`` are the values a query takes when it does not say (infini-gram's). ``CAPS`` are the
largest values a request to the server may ask for (infini-gram's public API). ``QueryLimits``
bounds a boolean query (text length, clauses, terms, nesting, and the largest sampling threshold
and window the Python API accepts). The server's own settings (time, batch, exact-mode cost,
connections) follow; ``anygram.server.ServerConfig`` takes its defaults from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

__all__ = [
    "CAPS",
    "DEFAULTS",
    "DEFAULT_LIMITS",
    "MAX_CLAUSES",
    "MAX_TERMS_PER_CLAUSE",
    "SERVER",
    "QueryLimits",
    "ServerDefaults",
]

#: Values a query takes when it leaves them out.
DEFAULTS: Final = MappingProxyType(
    {
        "maxnum": 1,
        "max_disp_len": 1000,
        "max_support": 1000,
        "max_clause_freq": 50_000,
        "max_diff_tokens": 100,
        "max_docs": 10,
        "max_new_tokens": 50,
    }
)

#: The largest values a server request may ask for.
CAPS: Final = MappingProxyType(
    {
        "maxnum": 10,
        "max_disp_len": 10_000,
        "max_support": 1000,
        "max_clause_freq": 500_000,
        "max_diff_tokens": 1000,
        "max_docs": 100,
        "max_new_tokens": 1000,
    }
)

#: A boolean query's clauses (AND) and terms per clause (OR), infini-gram's API limits.
MAX_CLAUSES: Final = 4
MAX_TERMS_PER_CLAUSE: Final = 4


@dataclass(frozen=True)
class QueryLimits:
    """Bounds on a boolean query. ``None`` lifts a bound.

    The defaults are those of infini-gram's public API server (``MAX_QUERY_CHARS``,
    ``MAX_CLAUSES_PER_CNF``, ``MAX_TERMS_PER_CLAUSE``, and the largest ``max_clause_freq`` and
    ``max_diff_tokens`` it accepts), plus a nesting depth for parentheses.
    """

    max_query_chars: int | None = 1000
    max_clauses: int | None = MAX_CLAUSES
    max_terms_per_clause: int | None = MAX_TERMS_PER_CLAUSE
    max_clause_freq: int | None = CAPS["max_clause_freq"]
    max_diff_tokens: int | None = CAPS["max_diff_tokens"]
    #: Parentheses nested deeper than this are refused (the parser is iterative whatever the
    #: depth; this bounds its stack and the work one query can ask for).
    max_depth: int | None = 32


#: infini-gram's API limits.
DEFAULT_LIMITS: Final = QueryLimits()


@dataclass(frozen=True)
class ServerDefaults:
    """The server's defaults (each is a ``ServerConfig`` or ``Limits`` field, and a flag of
    ``anygram serve``)."""

    #: Seconds a request may take, waiting in the queue included (504 after).
    timeout: float = 10.0
    #: Longest query in tokens (a boolean query: all its terms).
    max_query_tokens: int = 1000
    #: Queries in one ``/batch``.
    max_batch: int = 64
    #: ``exact: true`` boolean queries are answered only when no clause occurs more often than
    #: this (the exact answer's cost grows with clause counts; above it the request is refused
    #: and the sampled answer is the way).
    max_exact_clause_freq: int = CAPS["max_clause_freq"]
    #: Requests one client may have waiting (429 above); a batch counts each of its queries.
    max_queued_per_client: int = 256
    #: Open connections; at the cap, idle ones (between requests) are closed first.
    max_connections: int = 1000
    #: Seconds a client has to send a whole request (head and body) once it connected or its
    #: previous response was sent; a slow or silent client is disconnected after it.
    request_read_timeout: float = 10.0
    #: Seconds an idle keep-alive connection stays open (uvicorn's ``timeout_keep_alive``).
    keep_alive: float = 5.0


SERVER: Final = ServerDefaults()
