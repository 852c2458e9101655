"""Mixing the ∞-gram and neural next-token probabilities: ``P = λ·P∞ + (1 − λ)·P_neural``, with
a weight ``λ`` that depends on the context only (so ``P`` stays a distribution), fitted on a dev
split by maximum likelihood.

Schemes:

- ``"paper"`` — the infini-gram paper's (Liu et al., 2024, §6): one λ for sparse ∞-gram
  estimates (the longest matching suffix is always followed by the same token), one for the
  others.
- ``"buckets"`` — one λ per (effective-n bucket, sparse); a bucket with fewer than
  ``min_group`` dev tokens uses its sparse flag's paper weight.
- ``"gated"`` — three components, ``P = w∞·P∞ + w½·P½ + w_n·P_neural``, where ``P½`` is the
  ∞-gram estimate from the suffix of half the matched length (more occurrences, smoother) and
  the weights are a softmax gate ``w = softmax(Θ·x, 0)`` over the buckets (one-hot, so it
  contains the scheme above), the log counts of both suffixes, how peaked the ∞-gram
  distribution is (its top probability and number of distinct next tokens), the position in
  the document and, when the neural model gives whole distributions, its entropy, its top
  log-probability and the log-probability it gives to the ∞-gram's most likely token: the gate
  trusts the ∞-gram more where the neural model is unsure or already agrees. Fitted with
  L-BFGS (scipy) from the bucket weights, with a small L2 penalty on the non-bucket inputs;
  its dev likelihood is never below the bucket scheme's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from .features import TokenFeatures

__all__ = ["BUCKET_EDGES", "SCHEMES", "Mixture", "fit_mixture", "perplexity"]

SCHEMES = ("paper", "buckets", "gated")

#: Lower edges of the effective-n buckets: 1, 2, ..., then wider as counts thin out.
BUCKET_EDGES = (1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64)

#: Log-probability given to a token both models give probability 0 (cannot happen with a
#: proper neural model; kept finite so a broken one shows as a huge perplexity, not a crash).
_FLOOR_LOGPROB = -100.0


def perplexity(logprobs: np.ndarray) -> float:
    """``exp`` of the mean negative log-probability (NaN for no tokens)."""
    lp = np.asarray(logprobs, dtype=np.float64)
    return math.exp(-float(lp.mean())) if len(lp) else math.nan


def _bucket(effective_n: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.asarray(BUCKET_EDGES), effective_n, side="right") - 1


def _components(f: TokenFeatures) -> np.ndarray:
    """Each token's probability under the mixed models: ∞-gram, half-suffix ∞-gram, neural."""
    return np.stack([f.infgram_prob, f.half_prob, np.exp(f.neural_logprob)], axis=1)


def _mixed_logprob(w: np.ndarray, f: TokenFeatures) -> np.ndarray:
    mix = (w * _components(f)).sum(axis=1)
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(mix), _FLOOR_LOGPROB)


def _softmax_weights(x: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Component weights from the gate: logits ``x @ theta[k]`` for the ∞-gram components,
    0 for the neural one."""
    z = np.concatenate([x @ theta.T, np.zeros((len(x), 1))], axis=1)
    z -= z.max(axis=1, keepdims=True)
    w = np.exp(z)
    return w / w.sum(axis=1, keepdims=True)


def _fit_weight(a: np.ndarray, b: np.ndarray) -> float:
    """The λ in [0, 1] maximizing ``Σ log(λ a + (1 − λ) b)`` (concave: bounded Brent)."""
    from scipy.optimize import minimize_scalar

    def loss(lam: float) -> float:
        return -float(np.log(np.maximum(lam * a + (1 - lam) * b, 1e-300)).sum())

    r = minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-7})
    # Brent stays inside the interval; the optimum may be an end.
    return min((float(r.x), 0.0, 1.0), key=loss)


def _gate_columns(f: TokenFeatures, neural_stats: bool) -> tuple[list[str], np.ndarray]:
    """Names and values of the gate's inputs (before standardizing); each one that differs in
    meaning between sparse and dense estimates comes in two columns."""
    sparse = f.sparse.astype(np.float64)
    dense = 1.0 - sparse
    logcnt = np.log1p(f.prompt_cnt.astype(np.float64))
    names = ["log_count*sparse", "log_count*dense", "mode_prob*dense", "log_distinct*dense"]
    cols = [
        logcnt * sparse,
        logcnt * dense,
        f.mode_prob * dense,
        np.log(np.maximum(f.distinct, 1)) * dense,
    ]
    names.append("log_half_count")
    cols.append(np.log1p(f.half_prompt_cnt.astype(np.float64)))
    names.append("log_position")
    cols.append(np.log1p(f.position.astype(np.float64)))
    if neural_stats:
        ent = np.nan_to_num(f.neural_entropy)
        top = np.nan_to_num(f.neural_max_logprob)
        mode = np.nan_to_num(f.neural_mode_logprob, nan=-30.0)
        agree = (mode >= top - 1e-9).astype(np.float64)
        for name, col in (
            ("entropy", ent),
            ("max_logprob", top),
            ("mode_logprob", mode),
            ("mode_is_argmax", agree),
        ):
            names += [f"{name}*sparse", f"{name}*dense"]
            cols += [col * sparse, col * dense]
    return names, np.stack(cols, axis=1)


def _onehot(f: TokenFeatures) -> np.ndarray:
    b = _bucket(f.effective_n)
    k = len(BUCKET_EDGES)
    idx = b * 2 + f.sparse.astype(np.int64)
    out = np.zeros((len(f), 2 * k))
    out[np.arange(len(f)), idx] = 1.0
    return out


@dataclass
class Mixture:
    """A fitted mixing rule. :meth:`component_weights` gives each token's weights of the
    ∞-gram, half-suffix ∞-gram and neural estimates; :meth:`weights` the first (the λ of the
    two-component schemes); :meth:`logprob` the mixed log-probability of each token. Saved and
    loaded as JSON."""

    scheme: str
    #: "constant": {"weight"}; "paper": {"sparse", "dense"}; "buckets": the paper's two plus
    #: "groups", one per "n>=lo,sparse|dense"; "gated": the columns, their mean and scale, θ.
    params: dict[str, Any] = field(default_factory=dict)

    def component_weights(self, f: TokenFeatures) -> np.ndarray:
        """``(n, 3)`` weights of the ∞-gram, half-suffix ∞-gram and neural estimates."""
        if self.scheme == "gated":
            x = self._design(f)
            theta = np.asarray(self.params["theta"], dtype=np.float64)
            if theta.shape != (2, x.shape[1]):
                raise InvalidArgumentError(
                    f"a gated mixture needs θ of shape (2, {x.shape[1]}), not {theta.shape}"
                )
            return _softmax_weights(x, theta)
        lam = self._two_way(f)
        return np.stack([lam, np.zeros(len(f)), 1.0 - lam], axis=1)

    def weights(self, f: TokenFeatures) -> np.ndarray:
        """The ∞-gram estimate's weight λ at each token."""
        return self.component_weights(f)[:, 0]

    def _two_way(self, f: TokenFeatures) -> np.ndarray:
        p = self.params
        if self.scheme == "constant":
            return np.full(len(f), float(p["weight"]))
        if self.scheme == "paper":
            return np.where(f.sparse, p["sparse"], p["dense"]).astype(np.float64)
        if self.scheme == "buckets":
            fallback = np.where(f.sparse, p["sparse"], p["dense"]).astype(np.float64)
            b = _bucket(f.effective_n)
            out = fallback.copy()
            for key, lam in p["groups"].items():
                lo, kind = key.split(",")
                bi = BUCKET_EDGES.index(int(lo.removeprefix("n>=")))
                sel = (b == bi) & (f.sparse == (kind == "sparse"))
                out[sel] = lam
            return out
        raise InvalidArgumentError(f"unknown mixing scheme {self.scheme!r}")

    def _design(self, f: TokenFeatures) -> np.ndarray:
        p = self.params
        names, cols = _gate_columns(f, bool(p.get("neural_stats")))
        if names != p.get("columns"):
            raise InvalidArgumentError("the mixture was fitted on different features")
        z = (cols - np.asarray(p["mean"])) / np.asarray(p["scale"])
        return np.concatenate([_onehot(f), z], axis=1)

    @classmethod
    def constant(cls, weight: float) -> Mixture:
        """The same λ everywhere (no fitting)."""
        if not 0.0 <= weight <= 1.0:
            raise InvalidArgumentError(f"a mixing weight must be in [0, 1], not {weight}")
        return cls("constant", {"weight": float(weight)})

    def logprob(self, f: TokenFeatures) -> np.ndarray:
        return _mixed_logprob(self.component_weights(f), f)

    def to_json(self) -> str:
        return json.dumps({"scheme": self.scheme, "params": self.params}, indent=1)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Mixture:
        try:
            d = json.loads(Path(path).read_text(encoding="utf-8"))
            m = cls(scheme=str(d["scheme"]), params=dict(d["params"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise InvalidArgumentError(f"{path}: not a saved mixture ({e})") from e
        if m.scheme not in (*SCHEMES, "constant"):
            raise InvalidArgumentError(f"{path}: unknown mixing scheme {m.scheme!r}")
        return m


def _check(f: TokenFeatures) -> None:
    if len(f) == 0:
        raise InvalidArgumentError("no tokens to fit the mixture on")
    if np.isnan(f.neural_logprob).any():
        raise InvalidArgumentError("fitting a mixture needs the neural model's log-probabilities")


def _paper(f: TokenFeatures) -> dict[str, float]:
    b = np.exp(f.neural_logprob)
    out = {}
    for name, sel in (("sparse", f.sparse), ("dense", ~f.sparse)):
        out[name] = _fit_weight(f.infgram_prob[sel], b[sel]) if sel.any() else 0.5
    return out


def _buckets(f: TokenFeatures, min_group: int) -> dict[str, Any]:
    params: dict[str, Any] = dict(_paper(f))
    groups: dict[str, float] = {}
    b = _bucket(f.effective_n)
    nb = np.exp(f.neural_logprob)
    for bi, lo in enumerate(BUCKET_EDGES):
        for kind, flag in (("sparse", True), ("dense", False)):
            sel = (b == bi) & (f.sparse == flag)
            if int(sel.sum()) >= min_group:
                groups[f"n>={lo},{kind}"] = _fit_weight(f.infgram_prob[sel], nb[sel])
    params["groups"] = groups
    return params


def _gated(f: TokenFeatures, l2: float, min_group: int) -> dict[str, Any]:
    from scipy.optimize import minimize

    neural_stats = f.has_distributions
    names, cols = _gate_columns(f, neural_stats)
    mean = cols.mean(axis=0)
    scale = cols.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    params: dict[str, Any] = {
        "neural_stats": neural_stats,
        "columns": names,
        "mean": mean.tolist(),
        "scale": scale.tolist(),
    }
    onehot = _onehot(f)
    x = np.concatenate([onehot, (cols - mean) / scale], axis=1)
    comps = _components(f)
    n, d = x.shape
    k = onehot.shape[1]
    # Start from the bucket weights with a small share for the half-suffix estimate.
    lam = Mixture("buckets", _buckets(f, min_group)).weights(f)

    def bucket_logits(eps: float) -> np.ndarray:
        """θ giving each bucket its λ (clipped to [eps, 1 - eps]) and no half-suffix share."""
        theta = np.zeros((2, d))
        theta[1, :k] = -80.0
        for j in range(k):
            sel = onehot[:, j] > 0
            if sel.any():
                v = float(np.clip(lam[sel].mean(), eps, 1 - eps))
                theta[0, j] = math.log(v / (1 - v))
        return theta

    buckets_theta = bucket_logits(1e-15)  # the bucket scheme itself, to within 1e-15
    theta0 = bucket_logits(1e-4)  # a start the optimizer can move from
    theta0[1, :k] = -3.0
    penalized = np.zeros((2, d))
    penalized[:, k:] = 1.0  # the bucket logits are free, the other inputs penalized

    def nll(theta: np.ndarray) -> float:
        w = _softmax_weights(x, theta)
        return -float(np.log(np.maximum((w * comps).sum(axis=1), 1e-300)).sum()) / n

    def loss(flat: np.ndarray) -> tuple[float, np.ndarray]:
        theta = flat.reshape(2, d)
        w = _softmax_weights(x, theta)
        mix = np.maximum((w * comps).sum(axis=1), 1e-300)
        val = -float(np.log(mix).sum()) / n + l2 * float(((theta * penalized) ** 2).sum())
        # d(-log mix)/dz_j = -w_j (p_j - mix) / mix for the two ∞-gram logits.
        dz = -(w[:, :2] * (comps[:, :2] - mix[:, None]) / mix[:, None]) / n
        grad = dz.T @ x + 2 * l2 * theta * penalized
        return val, grad.ravel()

    r = minimize(loss, theta0.ravel(), jac=True, method="L-BFGS-B", options={"maxiter": 1000})
    theta = np.asarray(r.x).reshape(2, d)
    if nll(theta) > nll(buckets_theta):
        theta = buckets_theta
    params["theta"] = theta.tolist()
    return params


def fit_mixture(
    features: TokenFeatures, scheme: str = "gated", l2: float = 1e-4, min_group: int = 50
) -> Mixture:
    """Fit ``scheme`` (see the module docstring) on ``features`` of a dev split."""
    _check(features)
    if scheme == "paper":
        return Mixture("paper", _paper(features))
    if scheme == "buckets":
        return Mixture("buckets", _buckets(features, min_group))
    if scheme == "gated":
        return Mixture("gated", _gated(features, l2, min_group))
    raise InvalidArgumentError(f"unknown mixing scheme {scheme!r}; one of {', '.join(SCHEMES)}")
