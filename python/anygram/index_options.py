"""What an index is, beyond its tokenizer: its kind (``sa`` or ``fm``), the FM kind's sampling
rates, and case folding. One object, so every way of building (``anygram.build``, a
distributed plan) carries the same options; its JSON is what the engine's builder takes and
what the manifest records (``kind``, ``fm``, ``fold_case``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgumentError

__all__ = ["DEFAULT_ISA_SAMPLE", "DEFAULT_SA_SAMPLE", "KINDS", "IndexOptions"]

#: ``sa``: suffix array over the stored tokens, the fastest; ``fm``: FM-index, the smallest.
KINDS = ("sa", "fm")
#: The FM kind's default sampling rates (as infini-gram mini's SDSL index).
DEFAULT_SA_SAMPLE = 32
DEFAULT_ISA_SAMPLE = 64
#: The engine's bound on both rates.
MAX_SAMPLE = 1 << 20


@dataclass(frozen=True)
class IndexOptions:
    """The index's kind and its parameters, checked when made.

    >>> IndexOptions.make("fm").to_json()
    '{"kind": "fm", "fm": {"sa_sample": 32, "isa_sample": 64}, "fold_case": false}'
    >>> IndexOptions.make("sa", sa_sample=8)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    anygram.errors.InvalidArgumentError: sa_sample and isa_sample are ... the sa kind has none
    """

    kind: str = "sa"
    sa_sample: int | None = None
    isa_sample: int | None = None
    fold_case: bool = False

    @classmethod
    def make(
        cls,
        kind: str = "sa",
        *,
        sa_sample: int | None = None,
        isa_sample: int | None = None,
        fold_case: bool = False,
    ) -> IndexOptions:
        if kind not in KINDS:
            raise InvalidArgumentError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind != "fm" and (sa_sample is not None or isa_sample is not None):
            raise InvalidArgumentError(
                "sa_sample and isa_sample are sampling rates of the fm kind (kind='fm'); "
                f"the {kind} kind has none"
            )
        if kind == "fm":
            sa_sample = DEFAULT_SA_SAMPLE if sa_sample is None else sa_sample
            isa_sample = DEFAULT_ISA_SAMPLE if isa_sample is None else isa_sample
            for name, v in (("sa_sample", sa_sample), ("isa_sample", isa_sample)):
                if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_SAMPLE:
                    raise InvalidArgumentError(
                        f"{name} must be an integer from 1 to {MAX_SAMPLE}, not {v!r}"
                    )
        if not isinstance(fold_case, bool):
            raise InvalidArgumentError(f"fold_case must be True or False, not {fold_case!r}")
        return cls(kind, sa_sample, isa_sample, fold_case)

    def to_dict(self) -> dict[str, Any]:
        """The manifest's form: ``{"kind", "fm": {"sa_sample", "isa_sample"}, "fold_case"}``."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "fm":
            out["fm"] = {"sa_sample": self.sa_sample, "isa_sample": self.isa_sample}
        out["fold_case"] = self.fold_case
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def of_manifest(cls, manifest: dict[str, Any]) -> IndexOptions:
        """The options a manifest records (an older one without them: ``sa``, unfolded)."""
        fm = manifest.get("fm") or {}
        return cls(
            manifest.get("kind", "sa"),
            fm.get("sa_sample"),
            fm.get("isa_sample"),
            bool(manifest.get("fold_case", False)),
        )
