#!/usr/bin/env python3
"""Parity and speed of anygram-bpe against the Hugging Face `tokenizers` library.

Usage:
    cargo build --release -p anygram-bpe
    python3 benchmarks/bpe_parity.py --tokenizer CORPUS/tokenizer.json CORPUS/data/*.jsonl \
        [--synthetic] [--threads 1 2] [--limit-docs N] [--json-out results.json] \
        [--llama-cpp MODEL.gguf [--llama-special]]

Every document (field "text") is encoded by `tokenizers` (`encode(text,
add_special_tokens=False)`) and by the `anygram-bpe-encode` binary, and the ids are compared
document by document; any mismatch is reported with its first differing position and the
script exits 1. `--synthetic` adds generated stress documents (every Unicode code point,
added tokens inside words, whitespace runs, long runs) on top of the files.

Speed is MB/s of UTF-8 text, timing only the encoding (documents are already in memory on
both sides): `tokenizers` single-threaded is a loop of `encode`, multi-threaded is
`encode_batch` on its rayon pool (RAYON_NUM_THREADS, default all cores); anygram-bpe's
figures come from the binary, which times `encode` / `encode_batch` the same way.

`--llama-cpp MODEL.gguf` also checks a tokenizer.json exported from that model
(`anygram.gguf.export_gguf_tokenizer`) against llama.cpp itself (`llama-cpp-python`, vocabulary
only): `Llama.tokenize(text, add_bos=False, special=...)` must equal the `tokenizers` ids for
every document. `special` is False by default (control tokens such as `<filename>` written in
the text stay text); `--llama-special` sets it to True, which is what `tokenizers` does.
"""

import argparse
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_binary():
    for d in ("target/bpe-helper/release", "target/release"):
        p = os.path.join(REPO, d, "anygram-bpe-encode")
        if os.path.exists(p):
            return p
    sys.exit("anygram-bpe-encode not found: run `cargo build --release -p anygram-bpe`")


def load_docs(paths, limit):
    docs = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if line.strip():
                    docs.append((f"{os.path.basename(p)}:{i + 1}", json.loads(line)["text"]))
                    if limit and len(docs) >= limit:
                        return docs
    return docs


def synthetic_docs(added_tokens):
    """Stress documents: all code points, added tokens glued to words, whitespace shapes."""
    rng = random.Random(0)
    docs = []
    cps = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    contexts = ["a", "1", " ", "!", "'", "\n", "é", "\u3000", ""]
    for start in range(0, len(cps), 4096):
        parts = []
        for cp in cps[start : start + 4096]:
            parts.append(rng.choice(contexts) + chr(cp) + rng.choice(contexts))
        docs.append((f"synthetic:codepoints:{start:x}", "".join(parts)))
    alphabet = [
        "a",
        "b",
        "Z",
        " ",
        "  ",
        "\n",
        "\t",
        "\r\n",
        "0",
        "42",
        "'s",
        "'ll",
        "'",
        '"',
        "-",
        "é",
        "ß",
        "ǅ",
        "中文",
        "😀",
        "👍🏽",
        "e\u0301",
        "\u00a0",
        "\u2028",
        "\u3000",
        "\x0b",
        "\x1c",
        "...",
        "\\",
        "\u0660",
        "½",
        "Ⅻ",
        "  \n  ",
        "x" * 300,
        " " * 70,
        "=" * 100,
    ]
    alphabet += added_tokens
    for k in range(400):
        n = rng.randint(0, 60)
        docs.append((f"synthetic:random:{k}", "".join(rng.choice(alphabet) for _ in range(n))))
    return docs


def run_anygram(binary, tokenizer, docs, threads):
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "docs.jsonl")
        out = os.path.join(tmp, "ids.bin")
        with open(inp, "w", encoding="utf-8") as f:
            for _, text in docs:
                f.write(json.dumps({"text": text}) + "\n")
        proc = subprocess.run(
            [binary, "--tokenizer", tokenizer, "--threads", str(threads), "--output", out, inp],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            sys.exit(f"anygram-bpe-encode failed: {proc.stderr}")
        stats = json.loads(proc.stderr.strip().splitlines()[-1])
        with open(out, "rb") as f:
            data = f.read()
    ids, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4
        ids.append(list(struct.unpack_from(f"<{n}I", data, pos)))
        pos += 4 * n
    return ids, stats


def first_diff(a, b):
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def check_llama_cpp(args, docs, ref, results):
    """Documents whose llama.cpp ids differ from `ref` (the `tokenizers` ids)."""
    import llama_cpp

    llm = llama_cpp.Llama(model_path=args.llama_cpp, vocab_only=True, verbose=False)
    raw = [t.encode("utf-8") for _, t in docs]
    t0 = time.perf_counter()
    ids = [llm.tokenize(b, add_bos=False, special=args.llama_special) if b else [] for b in raw]
    secs = time.perf_counter() - t0
    mb = sum(map(len, raw)) / 1e6
    results["llama_cpp"] = {"1": mb / secs, "special": args.llama_special}
    print(f"llama.cpp    1 thread : {mb / secs:7.2f} MB/s ({secs:.1f} s)", flush=True)
    bad = []
    for (name, _text), got, want in zip(docs, ids, ref, strict=True):
        if got != want:
            i = first_diff(got, want)
            bad.append(
                {
                    "engine": "llama.cpp",
                    "doc": name,
                    "position": i,
                    "llama_cpp": got[max(0, i - 3) : i + 5],
                    "tokenizers": want[max(0, i - 3) : i + 5],
                    "text": llm.detokenize(got[max(0, i - 3) : i + 5]).decode(errors="replace"),
                }
            )
    results["llama_cpp"]["mismatches"] = len(bad)
    print(f"llama.cpp mismatching documents: {len(bad)} (of {len(docs)})", flush=True)
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("files", nargs="*")
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--limit-docs", type=int, default=0)
    ap.add_argument("--json-out")
    ap.add_argument("--llama-cpp", metavar="MODEL.gguf")
    ap.add_argument("--llama-special", action="store_true")
    args = ap.parse_args()

    from tokenizers import Tokenizer

    hf = Tokenizer.from_file(args.tokenizer)
    docs = load_docs(args.files, args.limit_docs)
    if args.synthetic:
        with open(args.tokenizer, encoding="utf-8") as f:
            added = [t["content"] for t in json.load(f).get("added_tokens") or []]
        docs += synthetic_docs(added)
    texts = [t for _, t in docs]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    print(f"{len(docs)} documents, {nbytes / 1e6:.1f} MB", flush=True)

    results = {"documents": len(docs), "bytes": nbytes, "tokenizers": {}, "anygram_bpe": {}}
    t0 = time.perf_counter()
    ref = [hf.encode(t, add_special_tokens=False).ids for t in texts]
    secs = time.perf_counter() - t0
    results["tokenizers"]["1"] = nbytes / 1e6 / secs
    print(f"tokenizers   1 thread : {nbytes / 1e6 / secs:7.2f} MB/s ({secs:.1f} s)", flush=True)
    if any(t > 1 for t in args.threads):
        t0 = time.perf_counter()
        batch = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
        secs = time.perf_counter() - t0
        nthreads = os.environ.get("RAYON_NUM_THREADS", str(os.cpu_count()))
        results["tokenizers"][nthreads] = nbytes / 1e6 / secs
        print(
            f"tokenizers   {nthreads} threads: {nbytes / 1e6 / secs:7.2f} MB/s ({secs:.1f} s)"
            f"{'' if batch == ref else '  (encode_batch differs from encode!)'}",
            flush=True,
        )

    mismatches = []
    if args.llama_cpp:
        mismatches += check_llama_cpp(args, docs, ref, results)

    binary = find_binary()
    for threads in args.threads:
        ids, stats = run_anygram(binary, args.tokenizer, docs, threads)
        results["anygram_bpe"][str(threads)] = stats["mb_per_s"]
        print(
            f"anygram-bpe  {threads} thread{'s' if threads > 1 else ' '}: "
            f"{stats['mb_per_s']:7.2f} MB/s "
            f"({stats['encode_seconds']:.1f} s)",
            flush=True,
        )
        for (name, _text), got, want in zip(docs, ids, ref, strict=False):
            if got != want:
                i = first_diff(got, want)
                mismatches.append(
                    {
                        "threads": threads,
                        "doc": name,
                        "position": i,
                        "anygram": got[max(0, i - 3) : i + 5],
                        "tokenizers": want[max(0, i - 3) : i + 5],
                        "text": hf.decode(want[max(0, i - 3) : i + 5]),
                    }
                )
        if len(ids) != len(ref):
            mismatches.append({"threads": threads, "doc": "<count>", "position": len(ids)})
    results["mismatches"] = len(mismatches)
    print(f"mismatching documents: {len(mismatches)} (of {len(docs)} per run)")
    for m in mismatches[:20]:
        print("  ", json.dumps(m, ensure_ascii=False))
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
