"""Type stubs of the engine module (anygram._core). Users import :mod:`anygram` instead."""

from collections.abc import Sequence
from os import PathLike
from typing import Any

from typing_extensions import Self, final

__all__ = [
    "FORMAT_VERSION",
    "MAX_QUERY_TOKENS",
    "Bpe",
    "Dedup",
    "DocumentReader",
    "Drafter",
    "Index",
    "IndexBuilder",
    "Sampler",
    "ShardServer",
    "__version__",
    "_error_examples",
    "_error_variants",
    "_raise_error_example",
    "assemble_index",
    "fold_case",
    "grow_adopt",
    "grow_compact",
    "grow_log",
    "grow_takedown",
    "grow_tier",
    "remote_index",
]
__version__: str
FORMAT_VERSION: int

def _error_examples() -> list[tuple[str, str]]: ...
def _raise_error_example(i: int) -> None: ...
def _error_variants() -> tuple[int, int]: ...

MAX_QUERY_TOKENS: int

def grow_adopt(index: str | PathLike[str], built: str | PathLike[str], info: str) -> str: ...
def grow_takedown(
    index: str | PathLike[str], doc_ixs: Sequence[int], info: str, workers: int
) -> str: ...
def grow_compact(
    index: str | PathLike[str], max_shards: int | None, mem_budget: int, workers: int, info: str
) -> str: ...
def grow_log(index: str | PathLike[str]) -> str: ...
def grow_tier(tokens: int, largest: int) -> int: ...

@final
class Index:
    def __new__(
        cls,
        paths: Sequence[str | PathLike[str]],
        *,
        load_to_ram: bool = False,
        verify: bool = False,
        populate: bool = False,
    ) -> Self: ...
    def count(self, ids: Sequence[int]) -> int: ...
    def find(self, ids: Sequence[int]) -> dict[str, Any]: ...
    @property
    def default_eos_token_id(self) -> int: ...
    def prob(self, prompt: Sequence[int], cont_id: int, *, eos_token_id: int) -> dict[str, Any]: ...
    def ntd(
        self, prompt: Sequence[int], *, max_support: int, exact: bool, eos_token_id: int
    ) -> dict[str, Any]: ...
    def infgram_prob(
        self, prompt: Sequence[int], cont_id: int, *, eos_token_id: int
    ) -> dict[str, Any]: ...
    def infgram_ntd(
        self, prompt: Sequence[int], *, max_support: int, exact: bool, eos_token_id: int
    ) -> dict[str, Any]: ...
    def get_doc_by_rank(
        self, s: int, rank: int, max_disp_len: int, *, needle_len: int = 0
    ) -> dict[str, Any]: ...
    def get_doc_by_ptr(self, s: int, ptr: int, max_disp_len: int) -> dict[str, Any]: ...
    def get_doc_by_ix(self, doc_ix: int, max_disp_len: int) -> dict[str, Any]: ...
    def get_docs_by_ranks(
        self, requests: list[tuple[int, int]], max_disp_len: int, *, needle_len: int = 0
    ) -> list[dict[str, Any]]: ...
    def get_docs_by_ptrs(
        self, requests: list[tuple[int, int]], max_disp_len: int
    ) -> list[dict[str, Any]]: ...
    def get_docs_by_ixs(self, doc_ixs: list[int], max_disp_len: int) -> list[dict[str, Any]]: ...
    @property
    def num_tokens(self) -> int: ...
    @property
    def num_docs(self) -> int: ...
    @property
    def num_shards(self) -> int: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def token_width(self) -> str: ...
    @property
    def size_bytes(self) -> int: ...
    @property
    def tokenizer_json(self) -> str: ...
    def manifests(self) -> list[tuple[str, str]]: ...
    def shard_stats(self) -> list[tuple[str, int, int, int]]: ...
    @property
    def generations(self) -> list[int]: ...
    @property
    def doc_slots(self) -> int: ...
    def docs_where(self, path: Sequence[str], value: str) -> list[int]: ...
    def docs_containing(self, ids: Sequence[int]) -> list[int]: ...
    def count_cnf(
        self,
        cnf: Sequence[Sequence[Sequence[int]]],
        *,
        max_clause_freq: int,
        max_diff_tokens: int,
        exact: bool,
        document_scope: bool,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def find_cnf(
        self,
        cnf: Sequence[Sequence[Sequence[int]]],
        *,
        max_clause_freq: int,
        max_diff_tokens: int,
        exact: bool,
        document_scope: bool,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def search_docs_cnf(
        self,
        cnf: Sequence[Sequence[Sequence[int]]],
        *,
        max_clause_freq: int,
        max_diff_tokens: int,
        exact: bool,
        document_scope: bool,
        offset: int,
        limit: int,
        page_seed: int | None,
        max_disp_len: int,
        seed: int | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def creativity(self, ids: Sequence[int], *, timeout: float | None = None) -> list[int]: ...
    def score(
        self, ids: Sequence[int], *, eos_token_id: int, timeout: float | None = None
    ) -> dict[str, list[Any]]: ...
    def next_token_summaries(
        self, ids: Sequence[int], *, eos_token_id: int, timeout: float | None = None
    ) -> dict[str, list[int]]: ...
    def attribute(
        self,
        ids: Sequence[int],
        *,
        min_len: int,
        max_cnt: int,
        delim_ids: Sequence[int],
        word_starts: bytes | None,
        bow_ids: Sequence[int] | None,
        max_docs: int,
        timeout: float | None = None,
    ) -> list[dict[str, Any]]: ...
    def generate(
        self,
        prompt: Sequence[int],
        *,
        max_new_tokens: int,
        temperature: float,
        top_k: int | None,
        seed: int,
        eos_token_id: int,
        timeout: float | None = None,
    ) -> dict[str, Any]: ...
    def coverage_many(
        self,
        items: Sequence[Sequence[int]],
        *,
        window: int,
        stride: int,
        chars: bool,
        timeout: float | None = None,
    ) -> list[dict[str, int]]: ...

def assemble_index(
    out: str | PathLike[str], parts: Sequence[str | PathLike[str]], build_info_json: str
) -> str: ...
def fold_case(text: str) -> str: ...
def remote_index(paths: Sequence[str | PathLike[str]], runner: Any) -> Index: ...

@final
class ShardServer:
    def __new__(
        cls,
        paths: Sequence[str | PathLike[str]],
        shards: Sequence[int],
        *,
        load_to_ram: bool = False,
        verify: bool = False,
        populate: bool = False,
    ) -> Self: ...
    @property
    def shards(self) -> list[int]: ...
    def run(
        self, jobs: Sequence[tuple[int, bytes]], timeout: float | None = None
    ) -> list[bytes]: ...

@final
class Drafter:
    def __new__(
        cls,
        index: Index,
        *,
        max_tokens: int,
        tokens_per_match: float,
        min_match: int,
        min_prob: float,
        use_context: bool,
        calibrate: bool,
    ) -> Self: ...
    def draft(self, ids: Sequence[int], *, branching: int = 1) -> dict[str, Any]: ...
    def draft_packed(self, ids: bytes) -> list[int]: ...
    def stats(self) -> dict[str, Any]: ...

@final
class Sampler:
    def __new__(cls, seed: int) -> Self: ...
    def sample(
        self,
        ids: Sequence[int],
        weights: Sequence[float],
        *,
        temperature: float,
        top_k: int | None = None,
    ) -> int | None: ...

@final
class DocumentReader:
    def __new__(
        cls,
        path: str,
        display_path: str,
        kind: str,
        text_field: str = ...,
        metadata_fields: Sequence[str] | None = None,
        on_error: str = "fail",
        max_line_bytes: int | None = None,
        byte_range: tuple[int, int, int] | None = None,
    ) -> Self: ...
    def read_batch(self, max_bytes: int) -> tuple[list[str], list[str]]: ...
    @property
    def file_bytes_read(self) -> int: ...
    @property
    def skipped(self) -> int: ...
    @property
    def skipped_examples(self) -> list[str]: ...

@final
class IndexBuilder:
    def __new__(
        cls,
        out: str,
        vocab_size: int,
        tokenizer_json: str,
        encoder: str,
        mem_budget: int,
        workers: int,
        max_shard_tokens: int | None = None,
        overwrite: bool = False,
        encoder_path: str | None = None,
        resume_key: str | None = None,
        index_options_json: str | None = None,
    ) -> Self: ...
    def add_from_reader(self, reader: DocumentReader, max_bytes: int) -> tuple[int, int]: ...
    def add_texts(self, texts: list[str], metas: list[str]) -> None: ...
    def add_token_documents(self, docs: list[list[int]], metas: list[str]) -> None: ...
    @property
    def resumed_shards(self) -> int: ...
    @property
    def shards_sealed(self) -> int: ...
    @property
    def shards_written(self) -> int: ...
    @property
    def docs_added(self) -> int: ...
    @property
    def tokens_added(self) -> int: ...
    @property
    def token_width(self) -> str | None: ...
    def finish(self, build_info_json: str) -> str: ...
    def cancel(self) -> None: ...

@final
class Bpe:
    def __new__(cls, kind: str, path: str) -> Self: ...
    def encode(self, text: str) -> list[int]: ...
    def encode_batch(self, texts: list[str]) -> list[list[int]]: ...
    def decode_bytes(self, ids: list[int]) -> bytes: ...
    def decode_each(self, ids: list[int]) -> list[str]: ...
    @property
    def vocab_size(self) -> int: ...

@final
class Dedup:
    def __new__(
        cls,
        corpus: list[str],
        min_len: int,
        keep: str = "first",
        against: list[str] | None = None,
        encoder: str = ...,
        encoder_path: str | None = None,
        workers: int = 1,
        top_spans: int = 20,
    ) -> Self: ...
    def run(self) -> None: ...
    def cancel(self) -> None: ...
    def ranges(self) -> tuple[list[int], list[int], list[list[tuple[int, int]]]]: ...
    def spans(self) -> list[tuple[int, int, list[int]]]: ...
    def seconds(self) -> list[tuple[str, float]]: ...
    def rewrite_jsonl(
        self,
        input: str,
        output: str,
        first_doc: int,
        text_field: str = "text",
        drop_empty: bool = True,
        on_error: str = "fail",
        max_line_bytes: int = ...,
    ) -> dict[str, Any]: ...
