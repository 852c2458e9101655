"""The query side: :class:`Index` opens one or more index directories and answers queries.

Method names, argument names and result fields follow infini-gram's ``InfiniGramEngine``, so
moving a script over means changing the import and the constructor. Unlike infini-gram, errors
are exceptions (see :mod:`anygram.errors`), never ``{"error": ...}`` dicts.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import _core
from .errors import (
    CorruptIndexError,
    InvalidArgumentError,
    InvalidQueryError,
    TokenizerError,
    TokenOutOfRangeError,
)
from .index_options import IndexOptions
from .limits import DEFAULT_LIMITS, DEFAULTS, QueryLimits
from .query_language import parse_query
from .tokenizers import Tokenizer, check_stored_tokenizer, from_manifest

__all__ = ["Index", "Query"]

_U63 = 2**63

#: A query: text (tokenized with the index's tokenizer) or a sequence of token ids.
Query = str | Sequence[int]

#: A boolean query: text in the query language, or clauses (AND) of terms (OR), each a Query.
CnfQuery = str | Sequence[Sequence[Query]]

# infini-gram constructor arguments that mean nothing here (anygram reads them from the index).
_IGNORED_COMPAT_ARGS = {
    "vocab_size",
    "version",
    "ds_prefetch_depth",
    "sa_prefetch_depth",
    "od_prefetch_depth",
    "prev_shards_by_index_dir",
    "bow_ids_path",
    "attribution_block_size",
    "precompute_unigram_logprobs",
}


def _paths(index_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[str]:
    if isinstance(index_dir, (str, os.PathLike)):
        return [os.fspath(index_dir)]
    paths = [os.fspath(p) for p in index_dir]
    if not paths:
        raise InvalidArgumentError("no index directory given")
    return paths


def _suffix(ids: Any, n: int) -> list[int]:
    """The last ``n`` ids of a prompt the engine accepted."""
    return [int(t) for t in ids[len(ids) - n :]] if n else []


def _check_u32(name: str, v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool):
        raise InvalidQueryError(f"{name} must be an integer, not {v!r}")
    if not 0 <= v < 2**32:
        raise TokenOutOfRangeError(f"{name}={v} is not a valid token id")
    return v


def _check_timeout(timeout: Any) -> float | None:
    """A query's time budget in seconds (None: unbounded). Past it the engine stops its work and
    the call raises :class:`~anygram.errors.QueryTimeoutError`."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout != timeout:
        raise InvalidArgumentError(f"timeout must be a number of seconds, not {timeout!r}")
    return float(timeout)


def _seed(seed: int | None) -> int:
    """A sampler seed: the caller's, or a fresh random one."""
    return secrets.randbits(64) if seed is None else seed % 2**64


def _with_interval(out: dict[str, Any], r: dict[str, Any]) -> dict[str, Any]:
    """Adds the 95% interval of an estimated boolean count (``approx``) to its answer."""
    if r["approx"]:
        out["interval"] = list(r["cnt_interval"])
    return out


def _check_support(v: Any) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
        raise InvalidQueryError(f"max_support must be a positive integer, not {v!r}")
    return min(v, 2**64 - 1)


def _generation(paths: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """What identifies the build behind each directory: its manifest's device, inode, size and
    modification time. A build replaces the manifest by a rename, last, so a rebuilt index
    always has a new one."""
    out = []
    for p in paths:
        try:
            st = os.stat(os.path.join(p, "manifest.json"))
        except OSError:
            out.append((0, 0, -1, 0))  # the engine's open reports it
            continue
        out.append((st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return out


def _open_consistent(paths: list[str], **options: Any) -> tuple[Any, Any]:
    """``_core.Index(paths)``, checked not to straddle a rebuild: the manifest must be the same
    before and after the files were opened (else files of two builds could be mixed). One
    retry; a directory rebuilt twice meanwhile is an error."""
    for _ in range(2):
        before = _generation(paths)
        core = _core.Index(paths, **options)
        if _generation(paths) == before:
            return core, before
    raise CorruptIndexError(
        f"{paths}: the index was rebuilt while it was being opened; open it again"
    )


class Index:
    """An anygram index, memory-mapped (default) or loaded into RAM.

    Parameters
    ----------
    index_dir
        An index directory, or a list of them to query as one index (their shards are searched
        together and results summed). All must share the tokenizer.
    load_to_ram
        Read every file into memory instead of mapping it.
    verify
        Recompute every file's checksum on open (reads the whole index once).
    populate
        Fill the mapping's page tables at open (reading what is not cached yet): slower to open,
        no page faults during queries, so a steadier tail latency (e.g. for servers).
    max_disp_len
        Default window, in tokens, of the ``get_doc*`` methods.
    eos_token_id
        The id under which :meth:`ntd` and :meth:`prob` report a continuation at a document end
        (infini-gram takes it in its constructor). Default: the ``eos_token_id`` of the
        tokenizer description in the manifest if it has one, else the token width's separator
        value (255, 65535 or 2**32-1), which is never a real token.
    max_support
        Default ``max_support`` of :meth:`ntd` and :meth:`infgram_ntd`.
    max_clause_freq, max_diff_tokens
        Defaults of the boolean queries (:meth:`count_cnf`, :meth:`find_cnf`,
        :meth:`search_docs_cnf`), infini-gram's.
    query_limits
        Bounds on boolean queries (clauses, terms per clause, text length, the largest
        ``max_clause_freq`` and ``max_diff_tokens``); infini-gram's API limits by default.
    backend
        Where the shards are opened and answer: ``None`` (this process) or, e.g.,
        :class:`anygram.distributed.RayBackend` (Ray actors; see :meth:`on_ray`). Every query
        gives the same answer on every backend.
    tokenizer
        A tokenizer object for text queries and decoding, overriding the one stored in the
        index (needed for indexes built with a custom Python tokenizer).
    token_dtype, vocab_size, version, *_prefetch_depth, ...
        infini-gram's other constructor arguments are accepted so scripts move over unchanged;
        ``token_dtype`` is checked against the index, the others are read from the index.

    Examples
    --------
    >>> import anygram, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "c.jsonl").write_text('{"text": "to be or not to be"}\\n')
    >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
    >>> index = anygram.Index(d / "idx")
    >>> index.count("to be")
    {'count': 2, 'approx': False}
    """

    def __init__(
        self,
        index_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        *,
        load_to_ram: bool = False,
        verify: bool = False,
        populate: bool = False,
        max_disp_len: int = DEFAULTS["max_disp_len"],
        tokenizer: Tokenizer | None = None,
        token_dtype: str | None = None,
        eos_token_id: int | None = None,
        max_support: int = DEFAULTS["max_support"],
        max_clause_freq: int = DEFAULTS["max_clause_freq"],
        max_diff_tokens: int = DEFAULTS["max_diff_tokens"],
        query_limits: QueryLimits = DEFAULT_LIMITS,
        backend: Any = None,
        **infini_gram_args: Any,
    ) -> None:
        unknown = set(infini_gram_args) - _IGNORED_COMPAT_ARGS
        if unknown:
            raise TypeError(f"Index() got unexpected keyword arguments: {sorted(unknown)}")
        self._paths = _paths(index_dir)
        options = {"load_to_ram": load_to_ram, "verify": verify, "populate": populate}
        self._open_options = options
        if backend is None:
            self._core, self._generation = _open_consistent(self._paths, **options)
        else:
            self._generation = _generation(self._paths)
            self._core = backend.open(self._paths, **options)
        self.backend = backend
        if token_dtype is not None and token_dtype != self._core.token_width:
            raise InvalidArgumentError(
                f"token_dtype={token_dtype!r} but the index stores {self._core.token_width}"
            )
        if verify:  # the index's copy of its tokenizer is one of its files too
            desc = json.loads(self._core.tokenizer_json)
            for path in self._paths:
                check_stored_tokenizer(Path(path), desc)
        self._tokenizer = tokenizer
        # A case-folded index (all of its directories, or none: the engine checks) reads text
        # queries folded the same way; documents come back as written.
        manifests = [json.loads(m) for _, m in self._core.manifests()]
        self.fold_case = any(IndexOptions.of_manifest(m).fold_case for m in manifests)
        self.max_disp_len = max_disp_len
        if eos_token_id is None:
            eos_token_id = int(self._core.default_eos_token_id)
        self._eos = _check_u32("eos_token_id", eos_token_id)
        self.max_support = _check_support(max_support)
        self.query_limits = query_limits
        self.max_clause_freq = self._cnf_limit("max_clause_freq", max_clause_freq)
        self.max_diff_tokens = self._cnf_limit("max_diff_tokens", max_diff_tokens)

    @classmethod
    def on_ray(
        cls,
        index_dir: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
        address: str | None = None,
        *,
        shards_per_actor: int = 1,
        actor_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> Index:
        """The index with its shards served by Ray actors on the cluster at ``address`` (see
        :class:`anygram.distributed.RayBackend`; needs ``pip install 'anygram[ray]'``). Answers
        are the same as a local index's; ``options`` are :class:`Index`'s."""
        from .distributed.ray_backend import RayBackend

        backend = RayBackend(
            address, shards_per_actor=shards_per_actor, actor_options=actor_options
        )
        return cls(index_dir, backend=backend, **options)

    @property
    def tokenizer(self) -> Tokenizer:
        """The index's tokenizer, loaded from the copy inside the index on first use (or the one
        passed to the constructor, for custom tokenizers)."""
        if self._tokenizer is None:
            desc = json.loads(self._core.tokenizer_json)
            self._tokenizer = from_manifest(Path(self._paths[0]), desc)
        return self._tokenizer

    # ----------------------------------------------------------------- properties

    @property
    def num_tokens(self) -> int:
        """Tokens in the index (document separators excluded)."""
        return int(self._core.num_tokens)

    @property
    def num_docs(self) -> int:
        return int(self._core.num_docs)

    @property
    def num_shards(self) -> int:
        return int(self._core.num_shards)

    @property
    def vocab_size(self) -> int:
        return int(self._core.vocab_size)

    @property
    def token_dtype(self) -> str:
        """``"u8"``, ``"u16"`` or ``"u32"``."""
        return str(self._core.token_width)

    def get_total_doc_cnt(self) -> int:
        return self.num_docs

    # ----------------------------------------------------------------- queries

    def tokenize(self, text: str) -> list[int]:
        """Token ids of ``text`` under the index's tokenizer (case-folded first on an index
        built with ``fold_case``, as its text was)."""
        if not isinstance(text, str):
            raise InvalidQueryError(f"text to tokenize must be a str, not {type(text).__name__}")
        try:
            return self.tokenizer.encode(_core.fold_case(text) if self.fold_case else text)
        except UnicodeError as e:  # a lone surrogate ("\ud800") has no UTF-8 form
            raise InvalidQueryError(f"query text is not valid Unicode: {e}") from None

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids (each must be below :attr:`vocab_size`)."""
        ids = list(ids)
        try:
            # min/max, not a loop per token: documents decode on the server's path
            low, high = (min(ids), max(ids)) if ids else (0, 0)
            if low < 0 or high >= self.vocab_size:
                wrong = low if low < 0 else high
                raise TokenOutOfRangeError(
                    f"token id {wrong} is outside the vocabulary (ids must be < {self.vocab_size})"
                )
            return self.tokenizer.decode(ids)
        except TypeError:
            raise InvalidQueryError(f"token ids must be integers, not {ids[:5]!r}") from None

    def _ids(self, query: Query) -> Any:
        """Text → token ids; id sequences pass through to the engine, which checks them (types,
        range, length) in one pass."""
        if isinstance(query, str):
            ids = self.tokenize(query)
            if len(ids) > _core.MAX_QUERY_TOKENS:
                raise InvalidQueryError(
                    f"query of {len(ids)} tokens is longer than the limit of "
                    f"{_core.MAX_QUERY_TOKENS}"
                )
            return ids
        if isinstance(query, (bytes, bytearray)):
            raise InvalidQueryError("a query is a str or a sequence of token ids, not bytes")
        return query

    def count(self, input_ids: Query) -> dict[str, Any]:
        """Occurrences of an n-gram: ``{"count": int, "approx": False}``.

        The empty query counts every token.
        """
        return {"count": self._core.count(self._ids(input_ids)), "approx": False}

    def find(self, input_ids: Query) -> dict[str, Any]:
        """Count and suffix-array range per shard: ``{"cnt", "segment_by_shard"}``.

        ``segment_by_shard[s] = (start, end)`` is half-open: ranks ``start..end-1`` of shard
        ``s`` are the occurrences, usable with :meth:`get_doc_by_rank`.
        """
        r = self._core.find(self._ids(input_ids))
        segments = [(seg["lo"], seg["hi"]) for seg in r["segment_by_shard"]]
        return {"cnt": r["cnt"], "segment_by_shard": segments}

    # ----------------------------------------------------------------- language model

    @property
    def eos_token_id(self) -> int:
        """The id under which continuations at a document end are reported."""
        return self._eos

    def _cont(self, cont_id: int | str) -> int:
        if isinstance(cont_id, str):
            ids = self.tokenize(cont_id)
            if len(ids) != 1:
                raise InvalidQueryError(
                    f"cont_id {cont_id!r} is {len(ids)} tokens, not one: pass a token id"
                )
            return ids[0]
        return _check_u32("cont_id", cont_id)

    def _support(self, max_support: int | None) -> int:
        return self.max_support if max_support is None else _check_support(max_support)

    def prob(self, prompt_ids: Query, cont_id: int | str) -> dict[str, Any]:
        """Probability of ``cont_id`` after the prompt, by counts:
        ``{"prob", "prompt_cnt", "cont_cnt"}``; ``prob`` is -1.0 when the prompt does not occur.

        ``cont_id`` equal to :attr:`eos_token_id` counts the prompt's occurrences at a document
        end (as :meth:`ntd` reports them). The empty prompt occurs before every token and at
        every document end.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "abab"}\\n{"text": "ac"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> anygram.Index(d / "idx").prob("a", "b")
        {'prob': 0.6666666666666666, 'prompt_cnt': 3, 'cont_cnt': 2}
        """
        ids, cont = self._ids(prompt_ids), self._cont(cont_id)
        r = self._core.prob(ids, cont, eos_token_id=self._eos)
        return {"prob": r["prob"], "prompt_cnt": r["prompt_cnt"], "cont_cnt": r["cont_cnt"]}

    def ntd(
        self, prompt_ids: Query, max_support: int | None = None, exact: bool = False
    ) -> dict[str, Any]:
        """Distribution of the token after the prompt: ``{"prompt_cnt", "result_by_token_id":
        {id: {"cont_cnt", "prob"}}, "approx"}``.

        Continuations at a document end are reported under :attr:`eos_token_id`. The cost grows
        with the number of distinct next tokens, not with the prompt's count, so the exact
        answer is cheap; for compatibility, a prompt occurring more than ``max_support`` times
        is sampled as infini-gram does (``approx`` is then True) unless ``exact=True``.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "abab"}\\n{"text": "ac"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> index = anygram.Index(d / "idx", eos_token_id=0)
        >>> r = index.ntd("b")
        >>> r["prompt_cnt"], {k: v["cont_cnt"] for k, v in r["result_by_token_id"].items()}
        (2, {0: 1, 97: 1})
        """
        ids = self._ids(prompt_ids)
        return self._core.ntd(
            ids, max_support=self._support(max_support), exact=bool(exact), eos_token_id=self._eos
        )

    def infgram_prob(self, prompt_ids: Query, cont_id: int | str) -> dict[str, Any]:
        """:meth:`prob` of the longest suffix of the prompt that occurs in the index (every
        occurrence has a continuation: a token or the document end), the ∞-gram estimate:
        ``{"prob", "prompt_cnt", "cont_cnt", "suffix_len", "suffix_ids"}``. The effective n
        is ``suffix_len + 1``; ``suffix_ids`` is that suffix itself."""
        ids, cont = self._ids(prompt_ids), self._cont(cont_id)
        r = self._core.infgram_prob(ids, cont, eos_token_id=self._eos)
        return {
            "prob": r["prob"],
            "prompt_cnt": r["prompt_cnt"],
            "cont_cnt": r["cont_cnt"],
            "suffix_len": r["suffix_len"],
            "suffix_ids": _suffix(ids, r["suffix_len"]),
        }

    def infgram_ntd(
        self, prompt_ids: Query, max_support: int | None = None, exact: bool = False
    ) -> dict[str, Any]:
        """:meth:`ntd` of the longest suffix of the prompt that occurs in the index, plus
        ``suffix_len`` and the suffix itself, ``suffix_ids``."""
        ids = self._ids(prompt_ids)
        r = self._core.infgram_ntd(
            ids, max_support=self._support(max_support), exact=bool(exact), eos_token_id=self._eos
        )
        r["suffix_ids"] = _suffix(ids, r["suffix_len"])
        return r

    # ----------------------------------------------------------------- documents

    def _disp(self, max_disp_len: int | None) -> int:
        n = self.max_disp_len if max_disp_len is None else max_disp_len
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InvalidQueryError(f"max_disp_len must be a non-negative integer, not {n!r}")
        return min(n, _U63)  # "everything": no document is longer

    def _with_text(self, doc: dict[str, Any]) -> dict[str, Any]:
        try:
            doc["text"] = self.tokenizer.decode(doc["token_ids"])
        except TokenizerError:
            doc["text"] = None  # custom tokenizer not given: ids are still exact
        return doc

    @staticmethod
    def _nonneg(**values: int) -> None:
        for name, v in values.items():
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise InvalidQueryError(f"{name} must be a non-negative integer, not {v!r}")
            if v >= _U63:
                raise InvalidQueryError(f"{name}={v} is out of range")

    def get_doc_by_rank(
        self, s: int, rank: int, max_disp_len: int | None = None, *, needle_len: int = 0
    ) -> dict[str, Any]:
        """The document holding occurrence ``rank`` of shard ``s`` (from :meth:`find`), as a window
        of up to ``max_disp_len`` tokens around it; ``needle_offset`` is where the match starts
        in ``token_ids``. ``needle_len`` is the searched n-gram's length in tokens: index kinds
        whose ranks mark where occurrences end need it (as infini-gram mini's does)."""
        self._nonneg(s=s, rank=rank, needle_len=needle_len)
        doc = self._core.get_doc_by_rank(s, rank, self._disp(max_disp_len), needle_len=needle_len)
        return self._with_text(doc)

    def get_doc_by_ptr(self, s: int, ptr: int, max_disp_len: int | None = None) -> dict[str, Any]:
        """Like :meth:`get_doc_by_rank`, from a pointer: a token position in shard ``s``'s
        stream (anygram pointers count tokens, not bytes, whatever the token width)."""
        self._nonneg(s=s, ptr=ptr)
        return self._with_text(self._core.get_doc_by_ptr(s, ptr, self._disp(max_disp_len)))

    def get_doc_by_ix(self, doc_ix: int, max_disp_len: int | None = None) -> dict[str, Any]:
        """The first ``max_disp_len`` tokens of document ``doc_ix`` (global, in build order)."""
        self._nonneg(doc_ix=doc_ix)
        return self._with_text(self._core.get_doc_by_ix(doc_ix, self._disp(max_disp_len)))

    def get_docs_by_ranks(
        self,
        list_of_s_and_rank: Sequence[tuple[int, int]],
        max_disp_len: int | None = None,
        *,
        needle_len: int = 0,
    ) -> list[dict[str, Any]]:
        """Many :meth:`get_doc_by_rank` lookups in one parallel call."""
        reqs = [(int(s), int(r)) for s, r in list_of_s_and_rank]
        for s, r in reqs:
            self._nonneg(s=s, rank=r)
        self._nonneg(needle_len=needle_len)
        docs = self._core.get_docs_by_ranks(reqs, self._disp(max_disp_len), needle_len=needle_len)
        return [self._with_text(d) for d in docs]

    def get_docs_by_ptrs(
        self, list_of_s_and_ptr: Sequence[tuple[int, int]], max_disp_len: int | None = None
    ) -> list[dict[str, Any]]:
        reqs = [(int(s), int(p)) for s, p in list_of_s_and_ptr]
        for s, p in reqs:
            self._nonneg(s=s, ptr=p)
        docs = self._core.get_docs_by_ptrs(reqs, self._disp(max_disp_len))
        return [self._with_text(d) for d in docs]

    def get_docs_by_ixs(
        self, list_of_doc_ix: Sequence[int], max_disp_len: int | None = None
    ) -> list[dict[str, Any]]:
        ixs = [int(i) for i in list_of_doc_ix]
        for i in ixs:
            self._nonneg(doc_ix=i)
        docs = self._core.get_docs_by_ixs(ixs, self._disp(max_disp_len))
        return [self._with_text(d) for d in docs]

    def search_docs(
        self, input_ids: Query, maxnum: int = DEFAULTS["maxnum"], max_disp_len: int | None = None
    ) -> dict[str, Any]:
        """Up to ``maxnum`` documents containing the n-gram (its first occurrences in suffix
        order), each windowed around the match: ``{"cnt", "approx", "idxs", "documents"}``."""
        self._nonneg(maxnum=maxnum)
        ids = self._ids(input_ids)
        found = self.find(ids)
        reqs: list[tuple[int, int]] = []
        for s, (lo, hi) in enumerate(found["segment_by_shard"]):
            for rank in range(lo, min(hi, lo + maxnum - len(reqs))):
                reqs.append((s, rank))
            if len(reqs) >= maxnum:
                break
        docs = self.get_docs_by_ranks(reqs, max_disp_len, needle_len=len(ids))
        return {"cnt": found["cnt"], "approx": False, "idxs": reqs, "documents": docs}

    # ----------------------------------------------------------------- facts

    def info(self) -> dict[str, Any]:
        """Tokens, documents, shards (with their size tier), sizes, tokenizer, format version,
        each directory's generation and taken-down document numbers."""
        from .grow import tiers

        core = self._core  # one generation throughout
        manifests = [json.loads(m) for _, m in core.manifests()]
        stats = core.shard_stats()
        shards = [
            {"dir": str(d), "tokens": t, "docs": n, "bytes": b, "tier": tier}
            for (d, t, n, b), tier in zip(stats, tiers([t for _, t, _, _ in stats]), strict=True)
        ]
        size = int(core.size_bytes)
        return {
            "generations": [m.get("generation", 0) for m in manifests],
            "takedown": [m.get("takedown", []) for m in manifests],
            "doc_slots": int(core.doc_slots),
            "paths": self._paths,
            "format_version": manifests[0]["format_version"],
            "kind": [m.get("kind", "sa") for m in manifests],
            "index_options": [IndexOptions.of_manifest(m).to_dict() for m in manifests],
            "num_tokens": self.num_tokens,
            "num_docs": self.num_docs,
            "num_shards": self.num_shards,
            "token_dtype": self.token_dtype,
            "vocab_size": self.vocab_size,
            "tokenizer": json.loads(self._core.tokenizer_json),
            "size_bytes": size,
            "bytes_per_token": size / max(1, self.num_tokens),
            "shards": shards,
            "build": [m.get("build") for m in manifests],
        }

    # ----------------------------------------------------------------- boolean search

    def _cnf_limit(self, name: str, v: Any) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
            raise InvalidQueryError(f"{name} must be a positive integer, not {v!r}")
        cap = getattr(self.query_limits, name)
        if cap is not None and v > cap:
            raise InvalidQueryError(f"{name}={v} is above the limit of {cap}")
        return min(v, 2**64 - 1)

    def _cnf(self, cnf: CnfQuery) -> list[list[Any]]:
        """A CNF as token ids: text in the query language, or clauses of terms, each term text
        or token ids (infini-gram's triply nested lists)."""
        if isinstance(cnf, str):
            cnf = parse_query(cnf, self.query_limits)
        elif isinstance(cnf, (bytes, bytearray)) or not isinstance(cnf, Sequence):
            raise InvalidQueryError(
                "a boolean query is text or a list of clauses, each a list of terms"
            )
        limits = self.query_limits
        if not cnf:
            raise InvalidQueryError("a boolean query needs at least one clause")
        if limits.max_clauses is not None and len(cnf) > limits.max_clauses:
            raise InvalidQueryError(
                f"too many clauses: {len(cnf)} (the limit is {limits.max_clauses})"
            )
        out = []
        for c, clause in enumerate(cnf):
            if isinstance(clause, (str, bytes)) or not isinstance(clause, Sequence):
                raise InvalidQueryError(f"clause {c} must be a list of terms, not {clause!r}")
            if not clause:
                raise InvalidQueryError(f"clause {c} is empty")
            cap = limits.max_terms_per_clause
            if cap is not None and len(clause) > cap:
                raise InvalidQueryError(
                    f"too many terms in clause {c}: {len(clause)} (the limit is {cap})"
                )
            for t, term in enumerate(clause):
                if not isinstance(term, (str, Sequence)):
                    raise InvalidQueryError(
                        f"term {t} of clause {c} must be text or token ids, not {term!r}"
                    )
            terms = [self._ids(t) for t in clause]
            for t, ids in enumerate(terms):
                if len(ids) == 0:
                    raise InvalidQueryError(f"term {t} of clause {c} is empty")
            out.append(terms)
        return out

    def _cnf_args(
        self,
        cnf: CnfQuery,
        max_clause_freq: int | None,
        max_diff_tokens: int | None,
        exact: bool,
        scope: str,
    ) -> tuple[list[list[Any]], dict[str, Any]]:
        if scope not in ("window", "document"):
            raise InvalidQueryError(f"scope must be 'window' or 'document', not {scope!r}")
        freq = self.max_clause_freq if max_clause_freq is None else max_clause_freq
        diff = self.max_diff_tokens if max_diff_tokens is None else max_diff_tokens
        options = {
            "max_clause_freq": self._cnf_limit("max_clause_freq", freq),
            "max_diff_tokens": self._cnf_limit("max_diff_tokens", diff),
            "exact": bool(exact),
            "document_scope": scope == "document",
        }
        return self._cnf(cnf), options

    def count_cnf(
        self,
        cnf: CnfQuery,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        exact: bool = False,
        scope: str = "window",
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Occurrences of a boolean query: ``{"count", "approx"}``.

        ``cnf`` is text (``'"new york" AND (city OR state)'``, see
        :mod:`anygram.query_language`) or infini-gram's form: a list of clauses (AND), each a
        list of terms (OR), each text or token ids. With ``scope="window"`` (infini-gram's
        semantics) every clause must occur within ``max_diff_tokens`` of the window matched so
        far, starting from each occurrence of the rarest clause, inside one document; with
        ``scope="document"`` anywhere in the same document, and documents are counted. A
        clause occurring more than ``max_clause_freq`` times is subsampled and ``approx`` is
        True, exactly when that happened; ``exact=True`` never samples.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "new york is a city"}\\n{"text": "york"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> index = anygram.Index(d / "idx")
        >>> index.count_cnf('"new york" AND (city OR state)')
        {'count': 1, 'approx': False}
        """
        cnf_ids, options = self._cnf_args(cnf, max_clause_freq, max_diff_tokens, exact, scope)
        r = self._core.count_cnf(cnf_ids, **options, timeout=_check_timeout(timeout))
        return _with_interval({"count": r["cnt"], "approx": r["approx"]}, r)

    def find_cnf(
        self,
        cnf: CnfQuery,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        exact: bool = False,
        scope: str = "window",
        *,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """:meth:`count_cnf` plus the hits: ``{"cnt", "approx", "ptrs_by_shard"}``, where
        ``ptrs_by_shard[s]`` lists, in stream order, the pointer where each matched window
        starts (``scope="document"``: the first occurrence of the rarest clause in each
        matching document), usable with :meth:`get_doc_by_ptr`."""
        cnf_ids, options = self._cnf_args(cnf, max_clause_freq, max_diff_tokens, exact, scope)
        r = self._core.find_cnf(cnf_ids, **options, timeout=_check_timeout(timeout))
        out = _with_interval({"cnt": r["cnt"], "approx": r["approx"]}, r)
        out["ptrs_by_shard"] = r["ptrs_by_shard"]
        return out

    def search_docs_cnf(
        self,
        cnf: CnfQuery,
        maxnum: int = DEFAULTS["maxnum"],
        max_disp_len: int | None = None,
        max_clause_freq: int | None = None,
        max_diff_tokens: int | None = None,
        *,
        exact: bool = False,
        scope: str = "window",
        offset: int = 0,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One page of the hits of a boolean query, as documents:
        ``{"cnt", "approx", "total", "offset", "idxs", "documents"}``.

        ``maxnum`` hits from ``offset``, in index order, or in a random order fixed by ``seed``
        (pages of one seed never overlap, so paging through a random sample works). ``total``
        is the number of hits to page through (``cnt`` unless ``approx``). Each document is a
        window of up to ``max_disp_len`` tokens around its hit, with infini-gram's document
        fields, ``text``, and ``spans``: every match of every clause in the window as
        ``(start, end, clause)`` token offsets into ``token_ids``.
        """
        self._nonneg(maxnum=maxnum, offset=offset)
        if seed is not None:
            self._nonneg(seed=seed)
        cnf_ids, options = self._cnf_args(cnf, max_clause_freq, max_diff_tokens, exact, scope)
        r = self._core.search_docs_cnf(
            cnf_ids,
            **options,
            offset=offset,
            limit=maxnum,
            page_seed=seed,
            max_disp_len=self._disp(max_disp_len),
            timeout=_check_timeout(timeout),
        )
        interval = r.pop("cnt_interval")
        if r["approx"]:
            r["interval"] = list(interval)
        r["documents"] = [self._with_text(d) for d in r["documents"]]
        r["offset"] = offset
        return r

    def creativity(self, input_ids: Query, *, timeout: float | None = None) -> dict[str, Any]:
        """For each start ``l`` of the input, ``rs[l] = l +`` the length of the longest prefix
        of ``input[l:]`` that occurs in the index: ``{"rs": [...]}`` (infini-gram's
        ``creativity``). About one suffix-array search per position.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "abcd"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> index = anygram.Index(d / "idx")
        >>> index.creativity("bcx")
        {'rs': [2, 2, 2]}
        """
        return {"rs": self._core.creativity(self._ids(input_ids), timeout=_check_timeout(timeout))}

    def attribute(
        self,
        input_ids: Query,
        min_len: int = 1,
        max_cnt: int | None = None,
        delim_ids: Sequence[int] | None = None,
        enforce_bow: bool = False,
        *,
        bow_ids: Sequence[int] | None = None,
        max_docs: int = DEFAULTS["max_docs"],
        return_docs: bool = False,
        max_disp_len: int | None = None,
        rank_by: str = "position",
        span_density: float | None = None,
        max_spans: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """The maximal spans of the input that occur verbatim in the index (infini-gram's
        ``attribute``, the OLMoTrace use): ``{"spans": [{l, r, length, count,
        unigram_logprob_sum, docs: [{s, ptr}]}]}``.

        A span starts at each position with the longest prefix there that occurs, is cut after
        the first token of ``delim_ids`` inside it, and with ``enforce_bow`` starts and ends at
        word boundaries only (``bow_ids``: the ids that begin words; default: from the
        tokenizer, see :mod:`anygram.attribution`). Kept if ``length >= min_len``, ``count <=
        max_cnt`` and it reaches beyond every span kept before it. ``docs`` are the first
        ``max_docs`` occurrences as (shard, pointer); ``return_docs`` adds each one's document
        window (``document``, as :meth:`get_doc_by_ptr`). ``rank_by`` orders the spans
        (``"position"``, ``"length"``, ``"unigram_logprob"``: rarest first), and
        ``span_density`` / ``max_spans`` keep the first ``ceil(span_density * len(input))`` /
        ``max_spans`` of that order. About one suffix-array search per input position.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "the cat sat"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> index = anygram.Index(d / "idx")
        >>> [(s["l"], s["r"], s["count"]) for s in index.attribute("a cat sat", min_len=3)["spans"]]
        [(1, 9, 1)]
        """
        from .attribution import byte_word_starts, rank_spans, word_start_ids

        ids = self._ids(input_ids)
        if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 1:
            raise InvalidQueryError(f"min_len must be a positive integer, not {min_len!r}")
        min_len = min(min_len, _U63)  # longer than any input: no span is kept
        if max_cnt is None:
            max_cnt = 2**64 - 1
        self._nonneg(max_cnt=min(max_cnt, _U63 - 1) if isinstance(max_cnt, int) else max_cnt)
        self._nonneg(max_docs=max_docs)
        word_starts: bytes | None = None
        bow: Sequence[int] | None = None
        if enforce_bow:
            if bow_ids is not None:
                bow = bow_ids
            elif getattr(self.tokenizer, "kind", None) == "bytes":
                ids = list(ids)
                word_starts = byte_word_starts(ids)
            else:
                cached = getattr(self, "_word_start_ids", None)
                if cached is None:
                    cached = word_start_ids(self.tokenizer.decode, self.vocab_size)
                    self._word_start_ids = cached
                bow = cached
        spans = self._core.attribute(
            ids,
            min_len=min_len,
            max_cnt=max_cnt,
            delim_ids=list(delim_ids or []),
            word_starts=word_starts,
            bow_ids=bow,
            max_docs=max_docs,
            timeout=_check_timeout(timeout),
        )
        spans = rank_spans(spans, len(ids), rank_by, span_density, max_spans)
        if return_docs:
            reqs = [(d["s"], d["ptr"]) for s in spans for d in s["docs"]]
            docs = iter(self.get_docs_by_ptrs(reqs, max_disp_len))
            for s in spans:
                for d in s["docs"]:
                    d["document"] = next(docs)
        return {"spans": spans}

    def score(self, input_ids: Query, *, timeout: float | None = None) -> dict[str, Any]:
        """The ∞-gram probability of every token given all the tokens before it, in one engine
        pass: ``{"token_ids", "prob", "effective_n", "suffix_len", "prompt_cnt", "cont_cnt",
        "sparse", "sole_next"}``, each a list with one entry per token.

        Entry ``i`` is :meth:`infgram_prob` of ``token_ids[:i]`` and ``token_ids[i]``, exactly;
        the first token is scored too, with the empty context (its count over every token and
        document end, ``effective_n`` 1). ``effective_n = suffix_len + 1``. ``prob`` is 0 when
        the token never follows the longest suffix. ``sparse`` is the infini-gram paper's flag:
        the longest suffix is always followed by the same token (``sole_next``, else -1), so
        :meth:`infgram_ntd` has one entry. Each position reuses the previous one's
        match, so the cost is about one suffix-array search per token, not a back-off search.
        Lists, not numpy arrays (numpy is optional): ``numpy.asarray(r["prob"])`` converts.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "abab"}\\n{"text": "ac"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> r = anygram.Index(d / "idx").score("abc")
        >>> r["effective_n"], r["cont_cnt"], r["prompt_cnt"]
        ([1, 2, 3], [3, 2, 0], [8, 3, 2])
        """
        ids = self._ids(input_ids)
        return {
            "token_ids": list(ids),
            **self._core.score(ids, eos_token_id=self._eos, timeout=_check_timeout(timeout)),
        }

    def next_token_summary(
        self, input_ids: Query, *, timeout: float | None = None
    ) -> dict[str, Any]:
        """The shape of the ∞-gram next-token distribution at every position, exactly:
        ``{"suffix_len", "prompt_cnt", "distinct", "mode", "mode_cnt", "half_prompt_cnt",
        "half_cont_cnt"}``, one list entry per token. Entry ``i`` summarizes
        ``infgram_ntd(token_ids[:i], exact=True)``: how many distinct tokens follow the longest
        matching suffix, and the most frequent one (ties to the smallest id) with its count;
        ``half_*`` are the counts of :meth:`prob` of ``token_ids[i]`` after the suffix of half
        that length (``suffix_len // 2`` tokens), a smoother second estimate. Costs one exact
        distribution per position (on the thread pool), more than :meth:`score`.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "abab"}\\n{"text": "ac"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> r = anygram.Index(d / "idx", eos_token_id=0).next_token_summary("ab")
        >>> r["distinct"], [chr(t) for t in r["mode"]], r["mode_cnt"]
        ([4, 2], ['a', 'b'], [3, 2])
        """
        ids = self._ids(input_ids)
        return self._core.next_token_summaries(
            ids, eos_token_id=self._eos, timeout=_check_timeout(timeout)
        )

    def generate(
        self,
        prompt: Query,
        max_new_tokens: int,
        temperature: float = 1.0,
        top_k: int | None = None,
        seed: int | None = None,
        neural: Any = None,
        mixture: Any = None,
        window: int = 1024,
        deadline: float | None = None,
    ) -> dict[str, Any]:
        """Sample a continuation of ``prompt`` from the ∞-gram model: each token is drawn from
        the exact :meth:`infgram_ntd` of everything so far (prompt and generated tokens).

        ``deadline`` (a :func:`time.monotonic` value) stops generation between tokens once
        passed, with ``"stop": "deadline"``: the server uses it so that a request that timed
        out does not keep its thread.

        With a ``neural`` model (an :class:`anygram.lm.NeuralLM` returning whole distributions,
        e.g. :class:`anygram.lm.LlamaCppLM`) tokens are drawn from the interpolated model
        instead, ``λ·P∞ + (1 − λ)·P_neural`` with λ from ``mixture`` (a fitted
        :class:`anygram.lm.Mixture`, or a number for a constant λ); the neural model sees the
        last ``window`` tokens, and the result adds ``"weight"``, the λ of each step.

        Counts are raised to ``1 / temperature`` before normalizing (``temperature=0``: always
        the most frequent next token, ties to the smallest id); ``top_k`` keeps the ``k`` most
        frequent. The engine keeps each shard's match of the text so far, so a step costs one
        extension of it rather than a back-off search of the whole context; draws come from
        the engine's seeded sampler (:class:`anygram._core.Sampler`), which the neural-mixture
        path shares. Generation stops after ``max_new_tokens`` or when a document end
        (:attr:`eos_token_id`) is drawn; that id is not appended. The same ``seed`` gives the
        same tokens. Returns ``{"token_ids", "text", "suffix_len", "stop"}``: the new tokens,
        their decoding (``None`` if the index has no tokenizer), the back-off suffix length
        behind each one, and ``"eos"``, ``"length"`` or ``"deadline"``.

        Examples
        --------
        >>> import anygram, tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "c.jsonl").write_text('{"text": "hello world"}\\n')
        >>> _ = anygram.build([d / "c.jsonl"], d / "idx", quiet=True)
        >>> anygram.Index(d / "idx").generate("hello", 10, seed=0)["text"]
        ' world'
        """
        import math

        if not isinstance(max_new_tokens, int) or isinstance(max_new_tokens, bool):
            raise InvalidArgumentError(f"max_new_tokens must be an integer, not {max_new_tokens!r}")
        self._nonneg(max_new_tokens=max_new_tokens)
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
            raise InvalidArgumentError(f"temperature must be a number, not {temperature!r}")
        if not temperature >= 0 or math.isinf(temperature):
            raise InvalidArgumentError(f"temperature must be finite and >= 0, not {temperature}")
        if top_k is not None and (
            not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1
        ):
            raise InvalidArgumentError(f"top_k must be a positive integer, not {top_k!r}")
        if seed is not None:
            self._nonneg(seed=seed)
        if neural is not None:
            from .lm import Mixture, generate_mixed

            if mixture is None:
                raise InvalidArgumentError("generating with a neural model needs a mixture")
            if not isinstance(mixture, Mixture):
                if isinstance(mixture, bool) or not isinstance(mixture, (int, float)):
                    raise InvalidArgumentError(
                        f"mixture must be a Mixture or a weight in [0, 1], not {mixture!r}"
                    )
                mixture = Mixture.constant(float(mixture))
            return generate_mixed(
                self,
                prompt,
                max_new_tokens,
                neural,
                mixture,
                temperature,
                top_k,
                seed,
                window,
                deadline,
            )
        timeout = None if deadline is None else deadline - time.monotonic()
        r = self._core.generate(
            self._ids(prompt),
            max_new_tokens=max_new_tokens,
            temperature=float(temperature),
            top_k=top_k,
            seed=_seed(seed),
            eos_token_id=self._eos,
            timeout=timeout,
        )
        text: str | None
        try:
            text = self.decode(r["token_ids"])
        except TokenizerError:
            text = None
        return {
            "token_ids": r["token_ids"],
            "text": text,
            "suffix_len": r["suffix_len"],
            "stop": r["stop"],
        }

    @property
    def generation(self) -> int:
        """The generation this index answers from (of its one directory; with several, their
        sum, which grows whenever one of them changes). 0 for an index never changed since its
        build; every add, takedown and compaction commits the next (:mod:`anygram.grow`)."""
        return sum(int(g) for g in self._core.generations)

    def reopened(self) -> Index | None:
        """A new :class:`Index` over the newest generation of the same directories, with the
        same options, or None if nothing changed. This one keeps its own snapshot, so a caller
        that swaps objects (as the server does) never mixes two generations in one answer."""
        if _generation(self._paths) == self._generation:
            return None
        new = copy.copy(self)
        if self.backend is None:
            new._core, new._generation = _open_consistent(self._paths, **self._open_options)
        else:
            new._generation = _generation(self._paths)
            new._core = self.backend.open(self._paths, **self._open_options)
        return new

    def refresh(self) -> bool:
        """Moves this index to the newest generation on disk (after :func:`anygram.add`,
        :func:`anygram.takedown`, :func:`anygram.compact` or a rebuild); True if it moved. A
        call already running finishes on the generation it started with; one call that makes
        several engine calls (``search_docs``) may straddle a refresh made meanwhile from
        another thread, so servers use :meth:`reopened` and swap objects instead. Cheap when
        nothing changed (one ``stat`` per directory)."""
        new = self.reopened()
        if new is None:
            return False
        self._core, self._generation = new._core, new._generation
        return True

    def changed_on_disk(self) -> bool:
        """Whether a directory of this index was rebuilt (or removed) since it was opened. The
        opened index keeps answering from the files it mapped, which a rebuild never modifies
        (it writes new files and renames them in place); reopen to see the new build."""
        return _generation(self._paths) != self._generation

    def __repr__(self) -> str:
        return (
            f"Index({self._paths!r}, tokens={self.num_tokens}, docs={self.num_docs}, "
            f"shards={self.num_shards})"
        )
