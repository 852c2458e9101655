"""The Python face of the engine's drafter (``anygram._core.Drafter``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core import Drafter as _CoreDrafter
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from ..index import Index

__all__ = ["Drafter"]


class Drafter:
    """Proposes draft tokens after a context, for one request (one sequence) at a time.

    Parameters
    ----------
    index:
        An :class:`anygram.Index` built with the model's tokenizer (see
        :func:`anygram.speculative.check_tokenizer`).
    max_tokens:
        At most this many draft tokens per step.
    tokens_per_match:
        At most ``tokens_per_match * m`` tokens after an ``m``-token match: a longer match
        predicts further.
    min_match:
        Matches shorter than this draft nothing.
    min_prob:
        A token is drafted only if its path probability (the product of
        ``count(child) / count(parent)`` along the draft) is at least this. Set it to what a
        drafted token costs, in accepted tokens: about the extra time a verification batch
        takes per drafted token over the time of one decoding step.
    use_context:
        Also draft from the request's own prompt and output (an online suffix automaton); the
        source whose draft is expected to be accepted further wins.
    branching:
        Children per node of :meth:`draft_tree` (1: a single draft).
    calibrate:
        Count how often the model accepts the token at each draft depth (recent steps weigh
        more) and draft no deeper than where the chance of getting there falls below
        ``min_prob`` (counts are optimistic: a continuation seen once scores 1).

    Each call passes the whole context so far (prompt and every accepted token); the drafter
    keeps its matches and only processes what was appended, and reads from the new context how
    many of its draft tokens the model accepted. A context that changes before its end (another
    request) is matched afresh.

    Examples
    --------
    >>> import json, pathlib, tempfile, anygram
    >>> from anygram.speculative import Drafter
    >>> work = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (work / "c.jsonl").write_text(json.dumps({"text": "def f(x): return x + 1"}) + "\\n")
    >>> _ = anygram.build([work / "c.jsonl"], work / "idx", quiet=True)
    >>> index = anygram.Index(work / "idx")
    >>> d = Drafter(index, max_tokens=8)
    >>> bytes(d.draft(list(b"def f(x): "))).decode()
    'return x'
    """

    def __init__(
        self,
        index: Index,
        *,
        max_tokens: int = 16,
        tokens_per_match: float = 2.0,
        min_match: int = 1,
        min_prob: float = 0.1,
        use_context: bool = True,
        branching: int = 1,
        calibrate: bool = True,
    ) -> None:
        if not isinstance(max_tokens, int) or max_tokens < 0:
            raise InvalidArgumentError(f"max_tokens must be an integer >= 0, not {max_tokens!r}")
        if not isinstance(branching, int) or branching < 1:
            raise InvalidArgumentError(f"branching must be an integer >= 1, not {branching!r}")
        if not isinstance(min_match, int) or min_match < 1:
            raise InvalidArgumentError(f"min_match must be an integer >= 1, not {min_match!r}")
        self.index = index
        self.branching = branching
        self._core = _CoreDrafter(
            index._core,
            max_tokens=max_tokens,
            tokens_per_match=float(tokens_per_match),
            min_match=min_match,
            min_prob=float(min_prob),
            use_context=bool(use_context),
            calibrate=bool(calibrate),
        )

    def draft(self, ids: Sequence[int] | Any) -> list[int]:
        """A single draft after the context ``ids`` (a sequence of ints or a numpy integer
        array): the token ids most likely to come next, best path only."""
        packed = _packed(ids)
        if packed is not None:
            return self._core.draft_packed(packed)
        return list(self._core.draft(ids, branching=1)["token_ids"])

    def draft_tree(self, ids: Sequence[int] | Any) -> dict[str, Any]:
        """A tree of drafts after ``ids``: ``{token_ids, parents, counts, probs, match_len,
        source}``, node ``i`` continuing node ``parents[i]`` (-1: the context), best first;
        ``source`` is ``"corpus"``, ``"context"`` or ``"none"``."""
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        return dict(self._core.draft(ids, branching=self.branching))

    @property
    def stats(self) -> dict[str, Any]:
        """``{drafts, drafted, accepted, acceptance}``: drafts proposed, their tokens, tokens the
        model was seen to accept, and the recent acceptance rate that scales draft length."""
        return dict(self._core.stats())


def _packed(ids: Any) -> bytes | None:
    """A numpy integer array as little-endian u32 bytes (one copy, no object per token);
    None for other sequences. Negative ids wrap to huge ones, which the engine refuses."""
    dtype = getattr(ids, "dtype", None)
    if dtype is None or getattr(dtype, "kind", "") not in "iu" or getattr(ids, "ndim", 1) != 1:
        return None
    import numpy as np

    arr = np.asarray(ids)
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 0xFFFFFFFF):
        from ..errors import TokenOutOfRangeError

        raise TokenOutOfRangeError("token ids must be in [0, 2**32)")
    return arr.astype("<u4", copy=False).tobytes()
