"""``anygram.Client``: the :class:`~anygram.Index` query methods over an HTTP API, for code that
queries a remote ``anygram serve`` (or an infini-gram-compatible endpoint, for the query types
both have) from Python.

Requests use infini-gram's format (``{"index", "query_type", "query" | "query_ids", ...}``);
answers come back as :class:`~anygram.Index` returns them: the server's presentation fields
(``tokens``, ``latency``, highlighting ``spans``, ...) are dropped and JSON's string keys
turned back into token ids. Errors are the classes of :mod:`anygram.errors`. Text is sent as
text and tokenized by the server, read as exact tokens (``exact_tokens``, never a boolean
query), as :class:`~anygram.Index` reads it. Standard library only (``urllib``).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from .errors import (
    AnygramError,
    InternalError,
    InvalidArgumentError,
    InvalidQueryError,
    QueryTimeoutError,
    ShardUnavailableError,
)

__all__ = ["Client"]

#: ``post(url, body) -> (status, answer)``: how a request travels (default: urllib).
Transport = Callable[[str, dict[str, Any]], tuple[int, Any]]

#: Fields a server adds for display, not part of an :class:`~anygram.Index` result.
_PRESENTATION = (
    "latency",
    "tokens",
    "message",
    "longest_suffix",
    "new_tokens",
    "reading",
    "variants",
)

_BY_STATUS: dict[int, type[AnygramError]] = {
    400: InvalidQueryError,
    404: InvalidArgumentError,
    503: ShardUnavailableError,
    504: QueryTimeoutError,
}


def _urllib_post(timeout: float) -> Transport:
    def post(url: str, body: dict[str, Any]) -> tuple[int, Any]:
        req = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read())
            except ValueError:
                return e.code, {"error": e.reason}
        except (urllib.error.URLError, OSError) as e:
            raise ShardUnavailableError(f"{url}: cannot reach the server ({e})") from None

    return post


class Client:
    """An index served over HTTP, with :class:`~anygram.Index`'s query methods.

    Parameters
    ----------
    url
        The server's query endpoint (``http://host:8000/`` for ``anygram serve``).
    index
        The index's name on the server (``GET /indexes`` lists them).
    timeout
        Seconds per request.
    transport
        How requests travel (default: the standard library's ``urllib``); tests pass one.
    """

    def __init__(
        self,
        url: str,
        index: str,
        *,
        timeout: float = 60.0,
        transport: Transport | None = None,
    ) -> None:
        self.url = url
        self.index = index
        self._post = transport or _urllib_post(timeout)

    # ----------------------------------------------------------------- transport

    def _query(self, query_type: str, **fields: Any) -> dict[str, Any]:
        body = {"index": self.index, "query_type": query_type}
        body.update({k: v for k, v in fields.items() if v is not None})
        status, answer = self._post(self.url, body)
        if status != 200 or (isinstance(answer, dict) and "error" in answer):
            message = answer.get("error") if isinstance(answer, dict) else answer
            cls = _BY_STATUS.get(status, InternalError if status >= 500 else InvalidQueryError)
            raise cls(f"{query_type}: {message}")
        if not isinstance(answer, dict):
            raise InternalError(f"{query_type}: the server answered {answer!r}")
        return answer

    @staticmethod
    def _input(query: str | Sequence[int], name: str = "query") -> dict[str, Any]:
        """A query as request fields: text (exact tokens) or token ids."""
        if isinstance(query, str):
            return {name: query, "exact_tokens": True, "boolean": False}
        return {f"{name}_ids": [int(t) for t in query]}

    def _ids(self, query: str | Sequence[int]) -> list[int]:
        """Token ids of a query (text is tokenized by the server)."""
        if not isinstance(query, str):
            return [int(t) for t in query]
        return list(self._query("count", **self._input(query))["token_ids"])

    @staticmethod
    def _cnf(cnf: Any) -> dict[str, Any]:
        if isinstance(cnf, str):
            return {"query": cnf, "boolean": True}
        return {"query_ids": [[list(map(int, term)) for term in clause] for clause in cnf]}

    @staticmethod
    def _clean(r: dict[str, Any], keep_ids: bool = False) -> dict[str, Any]:
        out = {k: v for k, v in r.items() if k not in _PRESENTATION}
        if not keep_ids:
            out.pop("token_ids", None)
        if "result_by_token_id" in out:
            out["result_by_token_id"] = {
                int(t): {k: v for k, v in e.items() if k != "token"}
                for t, e in out["result_by_token_id"].items()
            }
        for key in ("segment_by_shard", "idxs"):
            if key in out:
                out[key] = [tuple(s) if isinstance(s, list) else s for s in out[key]]
        if "documents" in out:
            out["documents"] = [Client._doc(d) for d in out["documents"]]
        return out

    @staticmethod
    def _doc(d: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in d.items() if k not in ("spans", "latency")}

    # ----------------------------------------------------------------- n-grams

    def count(self, input_ids: str | Sequence[int]) -> dict[str, Any]:
        return self._clean(self._query("count", **self._input(input_ids)))

    def find(self, input_ids: str | Sequence[int]) -> dict[str, Any]:
        return self._clean(self._query("find", **self._input(input_ids)))

    def prob(self, prompt_ids: str | Sequence[int], cont_id: int | str) -> dict[str, Any]:
        ids = self._ids(prompt_ids) + self._ids(cont_id if isinstance(cont_id, str) else [cont_id])
        return self._clean(self._query("prob", query_ids=ids))

    def ntd(
        self, prompt_ids: str | Sequence[int], max_support: int | None = None
    ) -> dict[str, Any]:
        r = self._query("ntd", **self._input(prompt_ids), max_support=max_support)
        return self._clean(r)

    def infgram_prob(self, prompt_ids: str | Sequence[int], cont_id: int | str) -> dict[str, Any]:
        ids = self._ids(prompt_ids) + self._ids(cont_id if isinstance(cont_id, str) else [cont_id])
        return self._clean(self._query("infgram_prob", query_ids=ids))

    def infgram_ntd(
        self, prompt_ids: str | Sequence[int], max_support: int | None = None
    ) -> dict[str, Any]:
        r = self._query("infgram_ntd", **self._input(prompt_ids), max_support=max_support)
        return self._clean(r)

    def search_docs(
        self,
        input_ids: str | Sequence[int],
        maxnum: int | None = None,
        max_disp_len: int | None = None,
    ) -> dict[str, Any]:
        r = self._query(
            "search_docs", **self._input(input_ids), maxnum=maxnum, max_disp_len=max_disp_len
        )
        return self._clean(r)

    # ----------------------------------------------------------------- documents

    def get_doc_by_rank(self, s: int, rank: int, max_disp_len: int | None = None) -> dict[str, Any]:
        r = self._query("get_doc_by_rank", s=s, rank=rank, max_disp_len=max_disp_len)
        return self._doc(self._clean(r, keep_ids=True))

    def get_doc_by_ptr(self, s: int, ptr: int, max_disp_len: int | None = None) -> dict[str, Any]:
        r = self._query("get_doc_by_ptr", s=s, ptr=ptr, max_disp_len=max_disp_len)
        return self._doc(self._clean(r, keep_ids=True))

    def get_doc_by_ix(self, doc_ix: int, max_disp_len: int | None = None) -> dict[str, Any]:
        r = self._query("get_doc_by_ix", doc_ix=doc_ix, max_disp_len=max_disp_len)
        return self._doc(self._clean(r, keep_ids=True))

    # ----------------------------------------------------------------- boolean search

    def count_cnf(
        self,
        cnf: Any,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        exact: bool | None = None,
        scope: str | None = None,
    ) -> dict[str, Any]:
        r = self._query(
            "count_cnf",
            **self._cnf(cnf),
            max_clause_freq=max_clause_freq,
            max_diff_tokens=max_diff_tokens,
            exact=exact,
            scope=scope,
        )
        return self._clean(r)

    def find_cnf(
        self,
        cnf: Any,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        exact: bool | None = None,
        scope: str | None = None,
    ) -> dict[str, Any]:
        r = self._query(
            "find_cnf",
            **self._cnf(cnf),
            max_clause_freq=max_clause_freq,
            max_diff_tokens=max_diff_tokens,
            exact=exact,
            scope=scope,
        )
        return self._clean(r)

    def search_docs_cnf(
        self,
        cnf: Any,
        maxnum: int | None = None,
        max_disp_len: int | None = None,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        *,
        exact: bool | None = None,
        scope: str | None = None,
        offset: int | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        r = self._query(
            "search_docs_cnf",
            **self._cnf(cnf),
            maxnum=maxnum,
            max_disp_len=max_disp_len,
            max_clause_freq=max_clause_freq,
            max_diff_tokens=max_diff_tokens,
            exact=exact,
            scope=scope,
            offset=offset,
            seed=seed,
        )
        # Each document keeps the server's ``spans``: its text in highlighted pieces
        # (``[text, clause or None]``), not the engine's token positions.
        out = {k: v for k, v in r.items() if k != "documents"}
        return {**self._clean(out), "documents": r.get("documents", [])}

    # ----------------------------------------------------------------- language model

    def creativity(self, input_ids: str | Sequence[int]) -> dict[str, Any]:
        return self._clean(self._query("creativity", **self._input(input_ids)))

    def score(self, input_ids: str | Sequence[int]) -> dict[str, Any]:
        return self._clean(self._query("score", **self._input(input_ids)), keep_ids=True)

    def attribute(self, input_ids: str | Sequence[int], **options: Any) -> dict[str, Any]:
        r = self._clean(self._query("attribute", **self._input(input_ids), **options))
        r["spans"] = [{k: v for k, v in s.items() if k != "text"} for s in r.get("spans", [])]
        return r

    def generate(
        self,
        prompt: str | Sequence[int],
        max_new_tokens: int,
        temperature: float | None = None,
        top_k: int | None = None,
        seed: int | None = None,
    ) -> dict[str, Any]:
        r = self._query(
            "generate",
            **self._input(prompt),
            max_new_tokens=max_new_tokens,
            temperature=None if temperature is None else float(temperature),
            top_k=top_k,
            seed=seed,
        )
        out = self._clean(r)
        out["token_ids"] = r.get("new_token_ids", [])
        out.pop("new_token_ids", None)
        return out

    def __repr__(self) -> str:
        return f"Client({self.url!r}, {self.index!r})"
