"""The ASGI application: infini-gram's HTTP API over named :class:`~anygram.Index` objects, plus
``/batch``, ``/indexes``, ``/health`` and the web page.

Every engine call (tokenizing, the query, decoding) runs in a bounded thread pool: the engine
releases the GIL, so queries run in parallel and a slow one never blocks the event loop. Clients
name indexes only by the names given to :func:`create_app`; nothing in a request is ever used as
a path.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import __version__
from ..errors import (
    AnygramError,
    CorruptIndexError,
    IncompatibleFormatError,
    IndexMismatchError,
    QueryParseError,
    QueryTimeoutError,
    ShardUnavailableError,
)
from ..index import Index
from ..limits import (
    CAPS,
    DEFAULTS,
    MAX_CLAUSES,
    MAX_TERMS_PER_CLAUSE,
    SERVER,
    QueryLimits,
)
from ..query_language import parse_query, query_reading
from ..text_query import describe_reading, phrase_variants
from .queries import (
    CNF,
    CONT,
    DEADLINE,
    IDS,
    NEEDLE_LEN,
    NUMERIC_FIELDS,
    OPTIONAL_FIELDS,
    PROMPT,
    QueryType,
    available,
    cnf_spans,
    decode_tokens,
    spans,
    split_prompt,
    takes_timeout,
)
from .scheduler import FairScheduler, QueueFull

__all__ = ["Limits", "ServerConfig", "create_app"]

access_log = logging.getLogger("anygram.access")
error_log = logging.getLogger("anygram.server")


@dataclass
class Limits:
    """Per-request limits, as on infini-gram's public API. ``defaults`` fill fields a request
    leaves out; ``caps`` are the largest values a request may ask for. A boolean query has at
    most ``max_clauses`` clauses (AND) of at most ``max_terms_per_clause`` terms (OR), and
    ``max_query_tokens`` tokens in all. A partial ``defaults`` or ``caps`` keeps the other
    entries. ``serve`` opens its indexes without bounds of their own, so these limits govern;
    an :class:`~anygram.Index` handed to :func:`create_app` also applies its ``query_limits``
    (infini-gram's API limits unless it was opened with others)."""

    max_query_tokens: int = SERVER.max_query_tokens
    max_batch: int = SERVER.max_batch
    max_clauses: int = MAX_CLAUSES
    max_terms_per_clause: int = MAX_TERMS_PER_CLAUSE
    #: ``attribute`` with ``return_docs``: query tokens x max_docs x max_disp_len at most this.
    max_attribute_doc_tokens: int = 10_000_000
    #: ``exact: true`` is answered only when no clause occurs more often than this.
    max_exact_clause_freq: int = SERVER.max_exact_clause_freq
    defaults: dict[str, int] = field(default_factory=lambda: dict(DEFAULTS))
    caps: dict[str, int] = field(default_factory=lambda: dict(CAPS))

    def __post_init__(self) -> None:
        # a partial dict given by the caller keeps the other defaults and caps
        self.defaults = {**DEFAULTS, **self.defaults}
        self.caps = {**CAPS, **self.caps}

    def query_limits(self) -> QueryLimits:
        """The bounds of the query language (text length is checked before parsing)."""
        return QueryLimits(
            max_query_chars=None,
            max_clauses=self.max_clauses,
            max_terms_per_clause=self.max_terms_per_clause,
            max_clause_freq=None,
            max_diff_tokens=None,
        )


@dataclass
class ServerConfig:
    limits: Limits = field(default_factory=Limits)
    #: Largest request body in bytes (413 above).
    max_body_bytes: int = 1 << 20
    #: Seconds a request may take, its wait in the queue included (504 after). Methods that
    #: take ``timeout=`` get the time left, so the engine stops at the deadline too.
    timeout: float = SERVER.timeout
    #: Threads running engine calls.
    threads: int = field(default_factory=lambda: 2 * (os.cpu_count() or 2))
    #: Requests one client may have waiting for a thread (429 above); see ``scheduler``.
    max_queued_per_client: int = SERVER.max_queued_per_client
    #: Origins allowed to call the API from a browser (CORS); none by default, ``["*"]`` for all.
    cors_origins: list[str] = field(default_factory=list)
    #: Connections held open at most (``anygram serve``; idle ones are closed first).
    max_connections: int = SERVER.max_connections
    #: Seconds a client has to send a whole request (``anygram serve``).
    request_read_timeout: float = SERVER.request_read_timeout
    #: Seconds an idle keep-alive connection stays open (``anygram serve``).
    keep_alive: float = SERVER.keep_alive


# --------------------------------------------------------------------------- request models


def _integral(v: Any, depth: int = 0) -> Any:
    """``5.0`` is the integer 5 (JSON writers differ on integral numbers), inside the lists of
    ``query_ids`` too; ``5.5``, strings and booleans stay what they are, for the strict type
    check to refuse."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list) and depth < 3:
        return [_integral(x, depth + 1) for x in v]
    return v


def _real(v: Any) -> Any:
    """An integer where a float is asked (``"temperature": 1``) is that float."""
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) <= 2**1023:
        return float(v)
    return v


#: Fields of a float type; every other numeric field is an integer.
_REAL_FIELDS = ("temperature", "span_density")


class QueryRequest(BaseModel):
    """infini-gram's request: an index name, a query type, the query as text (``query``) or as
    token ids (``query_ids``), and the type's own fields."""

    model_config = ConfigDict(extra="ignore")

    index: str = Field(description="name of the index, as listed by GET /indexes")
    query_type: str = Field(description="count, find, search_docs, get_doc_by_rank, ...")
    query: str | None = Field(
        None,
        description="the query text, tokenized by the index; with AND/OR a boolean query "
        '(OR binds tighter than AND; "quoted phrases", parentheses group ORs); a query that is '
        "one quoted phrase is that phrase; anything else is the text as typed",
    )
    boolean: StrictBool | None = Field(
        None,
        description="count, find, search_docs, get_doc_by_*: true reads query as a boolean "
        "query, false as the exact text typed; default: boolean only when it uses AND or OR",
    )
    exact_tokens: StrictBool | None = Field(
        None,
        description="count, search_docs: only the tokens of the phrase as typed; by default a "
        "phrase also counts in the form after a space, as BPE tokenizers fold the space before "
        "a word into its first token (the answer's variants list each form's count)",
    )
    query_ids: list[StrictInt] | list[list[list[StrictInt]]] | None = Field(
        None,
        description="the query as token ids; a boolean query as clauses (AND) of terms (OR) "
        "of token ids",
    )
    maxnum: StrictInt | None = Field(None, ge=0, description="documents to return (search_docs)")
    max_disp_len: StrictInt | None = Field(None, ge=0, description="tokens shown per document")
    max_support: StrictInt | None = Field(None, ge=1, description="ntd sampling bound")
    s: StrictInt | None = Field(None, ge=0, description="shard (get_doc_by_rank / _ptr)")
    rank: StrictInt | None = Field(None, ge=0, description="suffix-array rank (get_doc_by_rank)")
    needle_len: StrictInt | None = Field(
        None,
        ge=0,
        le=2**62,
        description="get_doc_by_rank: the searched n-gram's length in tokens (default: the "
        "query's); FM indexes need it to place the match",
    )
    ptr: StrictInt | None = Field(None, ge=0, description="token position (get_doc_by_ptr)")
    doc_ix: StrictInt | None = Field(None, ge=0, description="document number (get_doc_by_ix)")
    max_clause_freq: StrictInt | None = Field(
        None, ge=1, description="boolean queries: matches of a clause above which it is sampled"
    )
    max_diff_tokens: StrictInt | None = Field(
        None, ge=1, description="boolean queries: largest distance between clause matches"
    )
    offset: StrictInt | None = Field(None, ge=0, description="first hit shown (search_docs_cnf)")
    seed: StrictInt | None = Field(
        None,
        ge=0,
        description="random order of hits (search_docs_cnf) or sampled tokens (generate), "
        "fixed by this seed",
    )
    exact: StrictBool | None = Field(None, description="boolean queries: never sample")
    scope: Literal["window", "document"] | None = Field(
        None,
        description="boolean queries: clauses within max_diff_tokens (window, infini-gram's) "
        "or anywhere in the document",
    )
    min_len: StrictInt | None = Field(None, ge=1, description="attribute: shortest span kept")
    max_cnt: StrictInt | None = Field(None, ge=0, description="attribute: most occurrences")
    delim_ids: list[StrictInt] | None = Field(
        None, max_length=1000, description="attribute: spans end after these tokens"
    )
    enforce_bow: StrictBool | None = Field(
        None, description="attribute: spans start and end at word boundaries"
    )
    max_docs: StrictInt | None = Field(
        None, ge=0, description="attribute: occurrences listed per span"
    )
    return_docs: StrictBool | None = Field(
        None, description="attribute: each occurrence's document window too"
    )
    rank_by: Literal["position", "length", "unigram_logprob"] | None = Field(
        None, description="attribute: order of the spans"
    )
    span_density: StrictFloat | None = Field(
        None, ge=0, le=1, description="attribute: keep ceil(span_density x tokens) spans"
    )
    max_spans: StrictInt | None = Field(None, ge=0, description="attribute: keep this many")
    max_new_tokens: StrictInt | None = Field(None, ge=0, description="generate: most tokens to add")
    temperature: StrictFloat | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="generate: counts raised to 1/temperature (default 1; 0: the most frequent "
        "token)",
    )
    top_k: StrictInt | None = Field(
        None, ge=1, description="generate: sample among the k most frequent next tokens"
    )

    @field_validator("*", mode="before")
    @classmethod
    def _numbers(cls, v: Any, info: ValidationInfo) -> Any:
        """Integer fields take integral floats (``2.0``), float fields integers; strings and
        booleans are refused by the strict types as before."""
        return _real(v) if info.field_name in _REAL_FIELDS else _integral(v)


class ErrorBody(BaseModel):
    error: str
    position: int | None = Field(
        None, description="where in the query text a boolean query could not be parsed"
    )


class IndexInfo(BaseModel):
    name: str
    num_tokens: int
    num_docs: int
    num_shards: int
    size_bytes: int
    token_dtype: str
    vocab_size: int
    tokenizer: dict[str, Any]
    generation: int = Field(0, description="changes with every add, takedown or compaction")


_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "invalid request or query"},
    404: {"model": ErrorBody, "description": "unknown index"},
    413: {"model": ErrorBody, "description": "request body too large"},
    429: {"model": ErrorBody, "description": "too many requests of this client waiting"},
    504: {"model": ErrorBody, "description": "query took longer than the timeout"},
}


class ApiError(HTTPException):
    """An error answered as ``{"error": detail}`` with its status."""


def _error(
    status: int, message: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def _allowed(app: FastAPI, scope: Scope) -> str:
    """Every method some route takes at the request's path (the ``Allow`` of a 405)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))


#: Query types whose text phrase is also searched after a space on BPE indexes (text_query).
_PHRASE_VARIANT_TYPES = {"count": "count", "search_docs": "cnt"}


# --------------------------------------------------------------------------- middleware


class _BodyTooLarge(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class Guard:
    """Caps the request body (by ``Content-Length`` and by the bytes actually received) and
    writes one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 0
        info: dict[str, Any] = scope.setdefault("anygram", {})

        async def send_logged(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
            await send(msg)

        try:
            length = dict(scope["headers"]).get(b"content-length")
            if length is not None and (not length.isdigit() or int(length) > self.max_body):
                if length.isdigit():
                    resp = _error(413, f"request body larger than {self.max_body} bytes")
                else:
                    resp = _error(400, "bad Content-Length")
                await resp(scope, receive, send_logged)
                return
            received = 0

            async def receive_capped() -> Message:
                nonlocal received
                msg = await receive()
                if msg["type"] == "http.request":
                    received += len(msg.get("body", b""))
                    if received > self.max_body:
                        raise _BodyTooLarge(self.max_body)
                return msg

            try:
                await self.app(scope, receive_capped, send_logged)
            except _BodyTooLarge as e:
                if status == 0:
                    await _error(413, str(e.detail))(scope, receive, send_logged)
        finally:
            client = scope.get("client")
            record = {
                "ts": round(time.time(), 3),
                "client": f"{client[0]}:{client[1]}" if client else None,
                "method": scope.get("method"),
                "path": scope.get("path"),
                "status": status,
                "ms": round((time.perf_counter() - t0) * 1e3, 3),
                **info,
            }
            access_log.info(json.dumps(record, ensure_ascii=False))


# --------------------------------------------------------------------------- the app


#: How often a served index looks for a newer generation on disk (``Index.reopened``).
REFRESH_SECONDS = 0.5


class _Service:
    """What the handlers share: the indexes, the query table, limits, the fair queue."""

    def __init__(self, indexes: Mapping[str, Index], config: ServerConfig) -> None:
        self.indexes = dict(indexes)
        self._checked: dict[str, float] = {}
        self._refresh_lock = threading.Lock()
        self.config = config
        self.limits = config.limits
        self.types: dict[str, QueryType] = available(Index)
        for ix in self.indexes.values():  # all indexes must offer a type (subclasses may add)
            self.types.update(available(type(ix)))
        self.queue = FairScheduler(config.threads, config.max_queued_per_client)

    def index(self, name: str) -> Index:
        """The index named ``name``, at its newest generation: at most every
        ``REFRESH_SECONDS`` a request looks (one ``stat`` of the manifest) and, after an add,
        takedown or compaction, opens the new generation as a new object. A request keeps the
        object it got, so no answer mixes two generations; the old one is freed (its files
        unmapped) when its last request ends."""
        ix = self.indexes.get(name)
        if ix is None:
            raise ApiError(404, f"unknown index {name!r} (see GET /indexes)")
        if time.monotonic() - self._checked.get(name, 0.0) < REFRESH_SECONDS:
            return ix
        with self._refresh_lock:
            ix = self.indexes[name]
            if time.monotonic() - self._checked.get(name, 0.0) >= REFRESH_SECONDS:
                try:
                    new = ix.reopened()
                except AnygramError as e:  # keep serving the generation it has
                    logging.getLogger("anygram.server").warning("%s: refresh failed: %s", name, e)
                    new = None
                if new is not None:
                    self.indexes[name] = ix = new
                self._checked[name] = time.monotonic()
            return ix

    async def run(self, client: str, req: QueryRequest) -> dict[str, Any]:
        """``req`` answered on a query thread when its client's turn comes, by the deadline."""
        deadline = time.monotonic() + self.config.timeout
        try:
            return await self.queue.run(client, lambda: self.answer(req, deadline), deadline)
        except TimeoutError:
            raise ApiError(504, f"query took longer than {self.config.timeout:g} s") from None
        except QueueFull as e:
            raise ApiError(429, f"too many requests waiting: {e}") from None

    def _number(self, req: QueryRequest, name: str) -> int | None:
        value = getattr(req, name)
        if value is None:
            if name in OPTIONAL_FIELDS:
                return None
            if name not in self.limits.defaults:
                raise ApiError(400, f"this query type needs the field {name!r}")
            return self.limits.defaults[name]
        cap = self.limits.caps.get(name)
        if cap is not None and value > cap:
            raise ApiError(400, f"{name}={value} is above this server's limit of {cap}")
        return int(value)

    def _limit(self, req: QueryRequest, name: str) -> int:
        value = self._number(req, name)
        return 0 if value is None else value

    def _cnf(self, index: Index, req: QueryRequest) -> list[list[list[int]]]:
        """The query as a boolean query: text parsed by the query language, or ids (a flat
        list is one clause of one term), checked against the limits."""
        if req.query is not None:
            terms = parse_query(req.query, self.limits.query_limits())
            return [[index.tokenize(t) for t in clause] for clause in terms]
        ids: list[Any] = list(req.query_ids or [])
        cnf: list[list[list[int]]] = [[ids]] if all(isinstance(i, int) for i in ids) else ids
        if len(cnf) > self.limits.max_clauses:
            raise ApiError(
                400, f"too many clauses: {len(cnf)} (the limit is {self.limits.max_clauses})"
            )
        for c, clause in enumerate(cnf):
            if len(clause) > self.limits.max_terms_per_clause:
                raise ApiError(
                    400,
                    f"too many terms in clause {c}: {len(clause)} (the limit is "
                    f"{self.limits.max_terms_per_clause})",
                )
        return cnf

    def answer(self, req: QueryRequest, deadline: float) -> dict[str, Any]:
        """One query, start to end (runs on a query thread), by ``deadline`` (monotonic)."""
        t0 = time.perf_counter()
        qt = self.types.get(req.query_type)
        if qt is None:
            raise ApiError(
                400, f"unknown query_type {req.query_type!r}; one of {sorted(self.types)}"
            )
        index = self.index(req.index)
        if req.query is not None and req.query_ids is not None:
            raise ApiError(400, "give either query or query_ids, not both")
        if req.query is not None and len(req.query) > 16 * self.limits.max_query_tokens:
            raise ApiError(400, "query text too long")  # before tokenizing
        nested = req.query_ids is not None and any(isinstance(i, list) for i in req.query_ids)
        # A boolean query goes to the type's _cnf method (infini-gram's API: a count of "a AND b"
        # is a count_cnf) or, for get_doc_by_*, marks every clause. Other types take AND and OR
        # in text as words; nested ids they cannot take.
        takes = qt.takes_cnf or qt.result == "doc" or (qt.cnf is not None and qt.cnf in self.types)
        reading = None
        if takes and req.query is not None and not qt.takes_cnf:
            reading = query_reading(req.query, req.boolean)
        boolean = qt.takes_cnf or nested or (reading is not None and reading.kind == "boolean")
        variants = None
        if reading is not None and not boolean and req.query_type in _PHRASE_VARIANT_TYPES:
            variants = phrase_variants(index, reading.text, bool(req.exact_tokens))
            paged = req.offset is not None or req.seed is not None or len(variants) > 1
            if req.query_type == "search_docs" and paged and qt.cnf in self.types:
                # The forms are the terms of one OR clause: one engine call pages through all.
                boolean = True
        if boolean and not takes:
            raise ApiError(
                400,
                f"query_type {req.query_type!r} does not take a boolean (AND/OR) query; "
                "query_ids must be a flat list of token ids",
            )
        if boolean and not qt.takes_cnf and qt.cnf is not None and qt.cnf in self.types:
            qt = self.types[qt.cnf]
        ids: list[int] = []
        cnf: list[list[list[int]]] | None = None
        if boolean:
            if req.query is None and req.query_ids is None:
                raise ApiError(400, "this query type needs query (text) or query_ids (token ids)")
            if variants is not None:
                cnf = [[v["token_ids"] for v in variants]]
            else:
                cnf = self._cnf(index, req)
            n_tokens = sum(len(t) for clause in cnf for t in clause)
        else:
            if variants is not None:
                ids = variants[0]["token_ids"]
            elif reading is not None:
                ids = index.tokenize(reading.text)
            elif req.query is not None:
                ids = index.tokenize(req.query)
            elif req.query_ids is not None:
                ids = list(req.query_ids)  # type: ignore[arg-type]
            elif qt.query:
                raise ApiError(400, "this query type needs query (text) or query_ids (token ids)")
            n_tokens = len(ids)
        if n_tokens > self.limits.max_query_tokens:
            raise ApiError(
                400,
                f"query of {n_tokens} tokens is longer than this server's limit of "
                f"{self.limits.max_query_tokens}",
            )
        if req.return_docs and qt.method == "attribute":
            budget = n_tokens * self._limit(req, "max_docs") * self._limit(req, "max_disp_len")
            if budget > self.limits.max_attribute_doc_tokens:
                raise ApiError(
                    400,
                    "attribute with return_docs: query tokens x max_docs x max_disp_len = "
                    f"{budget} is above this server's limit of "
                    f"{self.limits.max_attribute_doc_tokens}",
                )
        kwargs: dict[str, Any] = {}
        for arg, source in qt.args.items():
            if source == IDS:
                kwargs[arg] = ids
            elif source == PROMPT:
                kwargs[arg] = split_prompt(ids)[0]
            elif source == CONT:
                kwargs[arg] = split_prompt(ids)[1]
            elif source == CNF:
                kwargs[arg] = cnf
            elif source == DEADLINE:
                kwargs[arg] = deadline
            elif source == NEEDLE_LEN:
                kwargs[arg] = req.needle_len if req.needle_len is not None else len(ids)
            elif source in NUMERIC_FIELDS:
                value = self._number(req, source)
                if value is not None:
                    kwargs[arg] = value
            elif getattr(req, source) is not None:
                kwargs[arg] = getattr(req, source)
        exact_capped = bool(kwargs.get("exact")) and "max_clause_freq" in kwargs
        if exact_capped:
            # Exact answers cost in clause counts: computed as a sampled query at the exact
            # cap, which is exact exactly when nothing was sampled; otherwise refused below.
            kwargs["exact"] = False
            kwargs["max_clause_freq"] = self.limits.max_exact_clause_freq
        method = getattr(index, qt.method)
        if takes_timeout(method):
            kwargs["timeout"] = max(1e-3, deadline - time.monotonic())
        result = method(**kwargs)
        if exact_capped and result.get("approx"):
            raise ApiError(
                400,
                "exact: a clause occurs more than this server's limit of "
                f"{self.limits.max_exact_clause_freq} times for an exact answer; leave exact "
                "out for a sampled one",
            )
        if qt.result == "doc":
            if cnf is not None:
                result["spans"] = cnf_spans(index, result["token_ids"], None, cnf)
            else:
                result["spans"] = spans(index, result, len(ids))
        elif qt.result == "docs":
            for doc in result["documents"]:
                if cnf is not None:
                    doc["spans"] = cnf_spans(index, doc["token_ids"], doc.get("spans"), cnf)
                else:
                    doc["spans"] = spans(index, doc, len(ids))
            result["message"] = _message(result)
        if qt.extra is not None:
            qt.extra(index, ids, result)
        if variants is not None:
            for v in variants:
                v["count"] = index.count(v["token_ids"])["count"]
            result[_PHRASE_VARIANT_TYPES[req.query_type]] = sum(v["count"] for v in variants)
            result["approx"] = False
            result["variants"] = variants
        if reading is not None:
            result["reading"] = describe_reading(reading, variants)
        if qt.result != "doc":  # a document's token_ids are its own
            if cnf is not None:
                result["token_ids"] = cnf
                result["tokens"] = [[decode_tokens(index, t) for t in clause] for clause in cnf]
            else:
                result["token_ids"] = ids
                result["tokens"] = decode_tokens(index, ids)
        result["latency"] = round((time.perf_counter() - t0) * 1e3, 3)
        return result


#: Request examples in the OpenAPI schema (for its page, and schema-driven tests): infini-gram's
#: documented requests, boolean queries among them.
_EXAMPLES: list[dict[str, Any]] = [
    {"query_type": "count", "query": "University of Washington"},
    {"query_type": "count", "query": "natural language processing AND deep learning"},
    {"query_type": "count", "query_ids": [[[97, 98]], [[99], [100, 101]]]},
    {"query_type": "ntd", "query": "natural language", "max_support": 10},
    {"query_type": "infgram_prob", "query": "I love natural language processing"},
    {
        "query_type": "search_docs",
        "query": '"natural language" AND (deep OR fun)',
        "maxnum": 2,
        "max_disp_len": 50,
    },
    {
        "query_type": "search_docs_cnf",
        "query": "the OR a",
        "maxnum": 10,
        "offset": 10,
        "seed": 42,
        "scope": "document",
    },
    {"query_type": "find_cnf", "query_ids": [[[116, 104, 101]]], "max_diff_tokens": 5},
    {"query_type": "count_cnf", "query": "cat AND (mat OR log)", "exact": True},
    {"query_type": "get_doc_by_ptr", "s": 0, "ptr": 3, "query_ids": [[[116]], [[104]]]},
    {"query_type": "creativity", "query": "the cat sat on a mat"},
    {
        "query_type": "generate",
        "query": "natural language",
        "max_new_tokens": 20,
        "temperature": 0.7,
        "top_k": 5,
        "seed": 42,
    },
    {"query_type": "score", "query": "the cat sat on a mat"},
    {
        "query_type": "attribute",
        "query": "I love natural language processing",
        "min_len": 4,
        "max_docs": 2,
        "return_docs": True,
        "max_disp_len": 40,
        "enforce_bow": True,
        "rank_by": "length",
    },
]


def _message(result: dict[str, Any]) -> str:
    """infini-gram's ``message`` of a document search."""
    if not result.get("cnt"):
        return "0 occurrences found"
    approx = "Approximately " if result.get("approx") else ""
    return (
        f"{approx}{result['cnt']} occurrences found. Displaying the documents of occurrences "
        f"#{result.get('idxs')}"
    )


def _body(e: BaseException) -> tuple[int, dict[str, Any]]:
    """An exception as an HTTP status and ``{"error"}`` body (with ``position`` for a query
    that could not be parsed)."""
    status, message = _status(e)
    if isinstance(e, QueryParseError):
        return status, {"error": message, "position": e.position}
    return status, {"error": message}


def _status(e: BaseException) -> tuple[int, str]:
    """An exception as an HTTP status and message (500 only for faults of the server)."""
    if isinstance(e, HTTPException):
        return e.status_code, str(e.detail)
    if isinstance(e, QueryTimeoutError):  # the engine stopped at the request's deadline
        return 504, str(e)
    if isinstance(e, ShardUnavailableError):  # a shard server (Ray actor) is down
        return 503, str(e)
    if isinstance(e, (CorruptIndexError, IncompatibleFormatError, IndexMismatchError)):
        error_log.error("index fault: %s", e)
        return 500, "internal error: the index is damaged"
    if isinstance(e, (AnygramError, ValueError, TypeError, OverflowError)):
        return 400, str(e)
    error_log.exception("unexpected error", exc_info=e)
    return 500, "internal server error"


def _validation_message(e: RequestValidationError) -> str:
    parts = []
    for err in e.errors()[:5]:
        loc = ".".join(str(x) for x in err.get("loc", ()) if x != "body")
        parts.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(parts)


def _client(request: Request) -> str:
    """Whom a request is charged to in the fair queue: its peer's address (behind a trusted
    reverse proxy, uvicorn's proxy-headers support puts the forwarded address here)."""
    client = request.scope.get("client")
    return str(client[0]) if client else "-"


def _web_dir() -> str:
    return str(resources.files("anygram") / "web")


def create_app(indexes: Mapping[str, Index], config: ServerConfig | None = None) -> FastAPI:
    """The server over already opened indexes, by name.

    >>> import anygram, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "c.jsonl").write_text('{"text": "to be or not to be"}\\n')
    >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
    >>> app = create_app({"demo": anygram.Index(d / "idx")})
    >>> sorted(r.path for r in app.routes if "POST" in getattr(r, "methods", ()))
    ['/', '/batch']
    """
    config = config or ServerConfig()
    for name in indexes:
        if not name or "/" in name:
            raise ValueError(f"bad index name {name!r}")
    svc = _Service(indexes, config)
    # /docs and /redoc load Swagger UI and ReDoc from files shipped by fastapi-offline, never
    # from a CDN: they work with no internet.
    app: FastAPI = FastAPIOffline(
        title="anygram",
        version=__version__,
        description="Exact n-gram queries over named indexes; infini-gram's request format.",
    )
    app.state.service = svc

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path only; GET / (the
            # page) and POST / (queries) are two routes.
            headers["Allow"] = _allowed(app, request.scope)
        return _error(exc.status_code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(400, _validation_message(exc))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        status, body = _body(exc)
        return JSONResponse(body, status_code=status)

    async def one(
        client: str, req: QueryRequest, log: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        log.update(index=req.index, query_type=req.query_type)
        try:
            return 200, await svc.run(client, req)
        except Exception as e:
            return _body(e)

    @app.post(
        "/",
        responses=_ERRORS,
        summary="Run one query (infini-gram's request format)",
        response_model=dict[str, Any],
    )
    async def query(request: Request, req: QueryRequest) -> JSONResponse:
        status, body = await one(_client(request), req, request.scope.setdefault("anygram", {}))
        return JSONResponse(body, status_code=status)

    @app.post(
        "/batch",
        responses={400: _ERRORS[400], 413: _ERRORS[413], 429: _ERRORS[429]},
        summary="Run several queries; each answer is a result or {error, status}",
        response_model=list[dict[str, Any]],
    )
    async def batch(
        request: Request, reqs: Annotated[list[QueryRequest], Body()]
    ) -> list[dict[str, Any]]:
        if len(reqs) > svc.limits.max_batch:
            raise ApiError(
                400, f"batch of {len(reqs)} is above the limit of {svc.limits.max_batch}"
            )
        request.scope.setdefault("anygram", {})["batch"] = len(reqs)
        client = _client(request)  # every query of a batch is charged to its client
        answers = await asyncio.gather(*(one(client, r, {}) for r in reqs))
        return [body if status == 200 else {**body, "status": status} for status, body in answers]

    @app.get("/indexes", summary="The indexes served, by name", response_model=list[IndexInfo])
    async def list_indexes() -> list[IndexInfo]:
        out = []
        for name in list(svc.indexes):
            info = svc.index(name).info()
            tok = {k: v for k, v in info["tokenizer"].items() if k not in ("source", "file")}
            out.append(
                IndexInfo(
                    name=name,
                    num_tokens=info["num_tokens"],
                    num_docs=info["num_docs"],
                    num_shards=info["num_shards"],
                    size_bytes=info["size_bytes"],
                    token_dtype=info["token_dtype"],
                    vocab_size=info["vocab_size"],
                    tokenizer=tok,
                    generation=sum(info["generations"]),
                )
            )
        return out

    @app.get("/health", summary="Liveness probe")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "indexes": len(svc.indexes), "version": __version__}

    @app.get("/query_types", summary="The query types this server answers")
    async def query_types() -> dict[str, str]:
        return {k: q.description for k, q in svc.types.items()}

    def openapi() -> dict[str, Any]:
        """The generated schema, plus this server's index names and query types as enums (the
        request model keeps them plain strings, so an unknown index is a 404, not a 400)."""
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            props = schema["components"]["schemas"]["QueryRequest"]["properties"]
            props["index"]["enum"] = list(svc.indexes)
            props["query_type"]["enum"] = list(svc.types)
            for name, prop in props.items():  # this server's defaults and caps, in words
                default = svc.limits.defaults.get(name)
                cap = svc.limits.caps.get(name)
                if default is not None and cap is not None and "description" in prop:
                    prop["description"] += f"; default {default}, at most {cap}"
            if svc.indexes:
                name = next(iter(svc.indexes))
                examples = [{"index": name, **e} for e in _EXAMPLES if e["query_type"] in svc.types]
                schema["components"]["schemas"]["QueryRequest"]["examples"] = examples
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    web = _web_dir()

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(os.path.join(web, "index.html"))

    app.mount("/static", StaticFiles(directory=web), name="static")
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            max_age=3600,
        )
    app.add_middleware(Guard, max_body_bytes=config.max_body_bytes)
    return app
