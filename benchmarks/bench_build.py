#!/usr/bin/env python3
"""Index build: infini-gram 2.6.0's indexer vs ``anygram build`` on the same corpus, same run.

For the byte-level (u8) and the BPE (u16, the corpus' tokenizer.json) index, each engine builds
the whole ``CORPUS/data`` directory from scratch ``--reps`` times (engine order alternates between
repetitions). Reported per build: wall time, peak RSS summed over the process tree (psutil, every
50 ms; see ``_common.run_measured``), index bytes on disk and bytes per corpus token, and the
ratios anygram / infini-gram. The corpus files are read once beforehand so both builders start
with the input in the page cache.

Then both indexes are checked to hold the same token ids: infini-gram's ``tokenized.0``
(v4 layout: per document a separator 0xFF/0xFFFF then its tokens, little-endian; document starts
from ``offset.0``) against ``anygram.Index(path).get_doc_by_ix(i)["token_ids"]`` for every
document. infini-gram orders documents by ``sorted(glob(data_dir/**/*.json*))`` and then line
order within each file; the check reports whether anygram has the same documents in the same
order, and if not, whether they are at least the same multiset.

Examples (from the repo root)::

    python benchmarks/bench_build.py                         # both engines, u8 and u16
    python benchmarks/bench_build.py --only infinigram       # before anygram is installed
    python benchmarks/bench_build.py --kinds u16 --reps 3
    python benchmarks/bench_build.py --no-build              # only check existing indexes
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C


def ig_command(
    kind: str, corpus: Path, out: Path, cpus: int, mem_gib: int
) -> tuple[list[str], dict]:
    k = C.KINDS[kind]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    ulimit = hard if hard != resource.RLIM_INFINITY else 1048576
    cmd = [
        sys.executable,
        str(C.IG_OFFLINE_INDEXER),
        "--token_dtype",
        k["ig_token_dtype"],
        "--data_dir",
        str(corpus / "data"),
        "--save_dir",
        str(out),
        "--cpus",
        str(cpus),
        "--mem",
        str(mem_gib),
        "--add_metadata",
        "--ulimit",
        str(ulimit),
    ]
    env = dict(os.environ)
    if kind == "u16":
        # --tokenizer gpt2 only selects the AutoTokenizer code path; the offline wrapper's stub
        # returns the local tokenizer.json instead (see infinigram_index_offline.py).
        cmd += ["--tokenizer", "gpt2"]
        env["IG_TOKENIZER_JSON"] = str(corpus / "tokenizer.json")
    return cmd, env


def ag_command(kind: str, corpus: Path, out: Path, workers: int) -> tuple[list[str], dict]:
    cli = C.anygram_cli()
    if cli is None:
        raise SystemExit(
            "anygram is not installed (pip install -e . / maturin develop --release); "
            "use --only infinigram"
        )
    tok = C.KINDS[kind]["ag_tokenizer"] or str(corpus / "tokenizer.json")
    cmd = [
        *cli,
        "build",
        str(corpus / "data"),
        "-o",
        str(out),
        "--tokenizer",
        tok,
        "--workers",
        str(workers),
        "--quiet",
    ]
    return cmd, dict(os.environ)


def parse_ig_log(log: str) -> dict:
    """Step timings printed by infini-gram's indexer (the tokenize step prints none)."""
    out = {}
    try:
        with open(log, errors="replace") as f:
            text = f.read()
    except OSError:
        return out
    for key, pat in (
        ("make_part_s", r"Step 2\.1 \(make-part\): Done\. Took ([\d.]+)"),
        ("merge_s", r"Step 2\.2 \(merge\): Done\. Took ([\d.]+)"),
        ("concat_s", r"Step 2\.3 \(concat\): Done\. Took ([\d.]+)"),
        ("build_sa_s", r"Step 2 \(build_sa\): Done\. Took ([\d.]+)"),
    ):
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1))
    return out


# --------------------------------------------------------------------------------------------
# token-id check


def _h(b: bytes) -> bytes:
    return hashlib.blake2b(b, digest_size=16).digest()


def ig_doc_hashes(ig_dir: Path, kind: str) -> tuple[list[bytes], int, int]:
    """Per-document hashes of infini-gram's token bytes; (hashes, text tokens, docs)."""
    k = C.KINDS[kind]
    w = np.dtype(k["dtype"]).itemsize
    data = np.fromfile(ig_dir / "tokenized.0", dtype=np.uint8)
    offs = np.fromfile(ig_dir / "offset.0", dtype="<u8").astype(np.int64)
    ends = np.append(offs[1:], len(data))
    toks = data.view(k["dtype"])
    assert np.all(toks[offs // w] == k["sep"]), "every document must start with the separator"
    hashes = [_h(data[s + w : e].tobytes()) for s, e in zip(offs, ends, strict=True)]
    n_tokens = len(data) // w - len(offs)
    # separators appear only at document starts
    n_sep = int(np.count_nonzero(toks == k["sep"]))
    if n_sep != len(offs):
        print(
            f"  warning: {n_sep} separator tokens in tokenized.0 but {len(offs)} documents",
            file=sys.stderr,
        )
    return hashes, n_tokens, len(offs)


def ag_doc_hashes(ag_dir: Path, kind: str) -> tuple[list[bytes], int, int, dict]:
    """Per-document hashes of anygram's token ids, via ``get_doc_by_ix`` for every document."""
    import anygram

    idx = anygram.Index(str(ag_dir))
    n_docs = idx.num_docs
    hashes = []
    n_tokens = 0
    truncated = 0
    t0 = time.perf_counter()
    for i in range(n_docs):
        d = C.full_doc(idx, i)
        ids = C.token_array(d["token_ids"], C.KINDS[kind]["dtype"])
        if d.get("doc_len") is not None and d["doc_len"] != len(ids):
            truncated += 1
        n_tokens += len(ids)
        hashes.append(_h(ids.tobytes()))
    info = {
        "num_docs": n_docs,
        "num_tokens_property": idx.num_tokens,
        "truncated_docs": truncated,
        "read_s": time.perf_counter() - t0,
    }
    return hashes, n_tokens, n_docs, info


def reference_sample(corpus: Path, kind: str, n: int, seed: int = 0) -> dict[int, bytes]:
    """Hashes of ``n`` random documents tokenized here, independently of both engines.

    Keys are positions in infini-gram's document order (sorted file paths, then lines); tokens
    are the UTF-8 bytes (u8) or HF ``tokenizers``' ``encode(text, add_special_tokens=False).ids``
    with the corpus' tokenizer.json (u16), the contract both builders must follow.
    """
    import glob
    import json
    import random

    data_dir = str(corpus / "data")
    texts = []
    for path in sorted(glob.glob(f"{data_dir}/**/*.json*", recursive=True)):
        with open(path, encoding="utf-8") as f:
            texts.extend(json.loads(line)["text"] for line in f)
    pick = sorted(random.Random(seed).sample(range(len(texts)), min(n, len(texts))))
    if kind == "u8":
        return {i: _h(texts[i].encode("utf-8")) for i in pick}
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(corpus / "tokenizer.json"))
    dt = np.dtype(C.KINDS[kind]["dtype"]).newbyteorder("<")
    return {
        i: _h(np.asarray(tok.encode(texts[i], add_special_tokens=False).ids, dtype=dt).tobytes())
        for i in pick
    }


def compare_docs(ig: list[bytes], ag: list[bytes]) -> dict:
    res = {"ig_docs": len(ig), "ag_docs": len(ag), "same_order": ig == ag}
    if res["same_order"]:
        res["same_multiset"] = True
        return res
    ci, ca = Counter(ig), Counter(ag)
    res["same_multiset"] = ci == ca
    res["only_in_infinigram"] = sum((ci - ca).values())
    res["only_in_anygram"] = sum((ca - ci).values())
    first = next(
        (i for i, (a, b) in enumerate(zip(ig, ag, strict=False)) if a != b), min(len(ig), len(ag))
    )
    res["first_position_differing"] = first
    if res["same_multiset"]:
        # where each anygram document sits in infini-gram's order (first few)
        pos = {}
        for i, h in enumerate(ig):
            pos.setdefault(h, i)
        res["ag_doc_to_ig_doc_head"] = [pos[h] for h in ag[:20]]
    return res


# --------------------------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    C.add_common_args(p, reps_default=1, reps_help="builds per engine and index kind (default 1)")
    p.add_argument(
        "--cpus",
        type=int,
        default=os.cpu_count(),
        help="infini-gram --cpus and anygram --workers (default: all cores)",
    )
    p.add_argument("--mem", type=int, default=16, help="infini-gram --mem in GiB (default 16)")
    p.add_argument(
        "--no-build",
        action="store_true",
        help="reuse existing indexes, only measure size and check",
    )
    p.add_argument("--no-check", action="store_true", help="skip the token-id comparison")
    p.add_argument(
        "--verify-sample",
        type=int,
        default=50,
        help="documents re-tokenized here to check each index independently (default 50, 0 = skip)",
    )
    p.add_argument(
        "--render", type=Path, default=None, help="only print the table of an earlier result JSON"
    )
    args = p.parse_args()

    if args.render:
        import json

        with open(args.render) as f:
            res = json.load(f)
        print(
            render(
                res,
                [e for e in C.ENGINES if any(k["builds"].get(e) for k in res["kinds"].values())],
            )
        )
        return 0

    corpus = args.corpus.resolve()
    work = args.work_dir.resolve()
    engines = C.engines_list(args.only)
    kinds = C.kind_list(args.kinds)
    if not (corpus / "data").is_dir():
        raise SystemExit(f"no corpus at {corpus} (see benchmarks/README.md)")
    for kind in kinds:
        C.check_ig_path(C.index_dirs(work, kind)["infinigram"])

    machine = C.machine_info()
    print(
        f"machine: {machine['nproc']} cpus, {C.gib(machine['mem_total_bytes']):.1f} GiB, "
        f"{machine['cpu_model']}; load {machine['loadavg']}",
        file=sys.stderr,
    )
    warmed = C.warm_page_cache([corpus / "data", corpus / "tokenizer.json"])
    print(f"corpus read once into page cache: {warmed / 1e6:.1f} MB", file=sys.stderr)

    results: dict = {
        "machine": machine,
        "corpus": str(corpus),
        "args": {k: str(v) for k, v in vars(args).items()},
        "kinds": {},
    }
    for kind in kinds:
        dirs = C.index_dirs(work, kind)
        kr: dict = {"builds": {e: [] for e in engines}}
        results["kinds"][kind] = kr
        if not args.no_build:
            for rep in range(args.reps):
                order = engines if rep % 2 == 0 else engines[::-1]
                for eng in order:
                    out = dirs[eng]
                    shutil.rmtree(out, ignore_errors=True)
                    if eng == "infinigram":
                        cmd, env = ig_command(kind, corpus, out, args.cpus, args.mem)
                    else:
                        cmd, env = ag_command(kind, corpus, out, args.cpus)
                    log = work / "logs" / f"build-{eng}-{kind}-{rep}.log"
                    print(
                        f"[{kind}] {eng} build {rep + 1}/{args.reps}: {' '.join(cmd)}",
                        file=sys.stderr,
                    )
                    r = C.run_measured(cmd, env=env, log_path=log)
                    rec = {
                        "wall_s": r.wall_s,
                        "peak_tree_rss": r.peak_tree_rss,
                        "max_single_rss": r.max_single_rss,
                        "cpu_s": r.cpu_s,
                        "returncode": r.returncode,
                        "rss_samples": r.samples,
                        "log": r.log,
                        "cmd": cmd,
                        "loadavg_after": os.getloadavg(),
                    }
                    if eng == "infinigram":
                        rec.update(parse_ig_log(r.log))
                    else:
                        rec["anygram_ext"] = C.anygram_ext_info()
                    kr["builds"][eng].append(rec)
                    print(
                        f"    {r.wall_s:.1f} s, peak tree RSS {C.gib(r.peak_tree_rss):.2f} GiB, "
                        f"rc={r.returncode}",
                        file=sys.stderr,
                    )
                    if r.returncode != 0:
                        print(f"    FAILED, see {log}", file=sys.stderr)
        # sizes
        kr["size"] = {}
        for eng in engines:
            if dirs[eng].is_dir():
                total, per = C.dir_bytes(dirs[eng])
                kr["size"][eng] = {"bytes": total, "files": per}
        # token check / token counts
        kr["tokens"] = {}
        hashes = {}
        if (dirs["infinigram"] / "tokenized.0").exists():
            try:
                h, nt, nd = ig_doc_hashes(dirs["infinigram"], kind)
                hashes["infinigram"] = h
                kr["tokens"]["infinigram"] = {"text_tokens": nt, "docs": nd}
            except (OSError, AssertionError) as e:
                kr["tokens"]["infinigram"] = {"error": repr(e)}
        if "anygram" in engines and dirs["anygram"].is_dir() and not args.no_check:
            try:
                h, nt, nd, info = ag_doc_hashes(dirs["anygram"], kind)
                hashes["anygram"] = h
                kr["tokens"]["anygram"] = {"text_tokens": nt, "docs": nd, **info}
            except Exception as e:  # report, do not hide the other engine's figures
                kr["tokens"]["anygram"] = {"error": repr(e)}
        if args.verify_sample > 0 and hashes:
            ref = reference_sample(corpus, kind, args.verify_sample)
            kr["reference_sample"] = {"docs": len(ref)}
            for eng, hs in hashes.items():
                if eng == "infinigram":  # known order
                    bad = [i for i, h in ref.items() if i >= len(hs) or hs[i] != h]
                else:  # order not assumed
                    have = set(hs)
                    bad = [i for i, h in ref.items() if h not in have]
                kr["reference_sample"][eng] = {"ok": not bad, "bad_docs": bad[:20]}
            print(
                f"[{kind}] independent tokenization of {len(ref)} sampled documents: "
                f"{kr['reference_sample']}",
                file=sys.stderr,
            )
        if len(hashes) == 2:
            kr["check"] = compare_docs(hashes["infinigram"], hashes["anygram"])
            c = kr["check"]
            verdict = (
                "OK: same documents, same order"
                if c["same_order"]
                else "same documents, different order"
                if c["same_multiset"]
                else "MISMATCH"
            )
            print(f"[{kind}] token-id check: {verdict} ({c})", file=sys.stderr)
            kr["check"]["verdict"] = verdict
        # denominator for bytes/token: corpus tokens without separators (infini-gram's count when
        # available, so both engines share it)
        denom = None
        for eng in ("infinigram", "anygram"):
            t = kr["tokens"].get(eng, {})
            if "text_tokens" in t:
                denom = t["text_tokens"]
                break
        kr["text_tokens"] = denom

    results["anygram_ext_at_end"] = C.anygram_ext_info()
    if "anygram" in engines and results["anygram_ext_at_end"] != machine["anygram_ext"]:
        print("warning: anygram's extension was rebuilt during this run", file=sys.stderr)
    md = render(results, engines)
    print(md)
    out = args.out or (work / "bench_build.json")
    C.write_results(out, results, md)
    return 0


def _best(builds: list[dict]) -> dict | None:
    ok = [b for b in builds if b.get("returncode") == 0]
    if not ok:
        return None
    ws = sorted(b["wall_s"] for b in ok)
    cs = sorted(b.get("cpu_s") for b in ok if b.get("cpu_s") is not None)
    return {
        "wall_s": ws[len(ws) // 2],
        "wall_min_s": ws[0],
        "cpu_s": cs[len(cs) // 2] if cs else None,
        "peak_tree_rss": max(b["peak_tree_rss"] for b in ok),
        "max_single_rss": max(b["max_single_rss"] for b in ok),
        "n": len(ok),
    }


def render(results: dict, engines: list[str]) -> str:
    m = results["machine"]
    lines = [
        f"Index build, corpus `{results['corpus']}`; {m['nproc']} CPUs, "
        f"{C.gib(m['mem_total_bytes']):.1f} GiB RAM, {m['cpu_model']}; "
        f"infini-gram {m['infini_gram']}, "
        f"anygram {m['anygram']} (git {m['git_rev']}).",
        "",
    ]
    headers = [
        "index",
        "engine",
        "builds",
        "wall s (median)",
        "wall s (min)",
        "CPU s (median)",
        "peak tree RSS GiB",
        "largest process GiB",
        "index MiB",
        "bytes/token",
    ]
    rows = []
    for kind, kr in results["kinds"].items():
        vals = {}
        for eng in engines:
            b = _best(kr["builds"].get(eng, []))
            size = kr["size"].get(eng, {}).get("bytes")
            bpt = C.ratio(size, kr.get("text_tokens"))
            vals[eng] = (b, size, bpt)
            rows.append(
                [
                    C.KINDS[kind]["label"],
                    eng,
                    b["n"] if b else 0,
                    b["wall_s"] if b else None,
                    b["wall_min_s"] if b else None,
                    b["cpu_s"] if b else None,
                    C.gib(b["peak_tree_rss"]) if b else None,
                    C.gib(b["max_single_rss"]) if b else None,
                    C.mib(size),
                    bpt,
                ]
            )
        if len(engines) == 2:
            (bi, si, pi), (ba, sa, pa) = vals["infinigram"], vals["anygram"]
            rows.append(
                [
                    C.KINDS[kind]["label"],
                    "**anygram / infini-gram**",
                    "",
                    C.ratio(ba and ba["wall_s"], bi and bi["wall_s"]),
                    C.ratio(ba and ba["wall_min_s"], bi and bi["wall_min_s"]),
                    C.ratio(ba and ba["cpu_s"], bi and bi["cpu_s"]),
                    C.ratio(ba and ba["peak_tree_rss"], bi and bi["peak_tree_rss"]),
                    None,
                    C.ratio(sa, si),
                    C.ratio(pa, pi),
                ]
            )
    lines.append(C.md_table(headers, rows, digits=2))
    lines.append("")
    for kind, kr in results["kinds"].items():
        tok = kr.get("text_tokens")
        lines.append(
            f"- {C.KINDS[kind]['label']}: {C.fmt(tok)} corpus tokens (separators excluded)"
            + (
                f"; token-id check: **{kr['check']['verdict']}**"
                if "check" in kr
                else "; token-id check: not run (needs both indexes)"
            )
        )
        ref = kr.get("reference_sample")
        if ref:
            oks = ", ".join(
                f"{e} {'OK' if v['ok'] else 'MISMATCH'}" for e, v in ref.items() if e != "docs"
            )
            lines.append(f"  - {ref['docs']} documents re-tokenized independently: {oks}")
        for b in kr["builds"].get("infinigram", [])[:1]:
            if "build_sa_s" in b:
                lines.append(
                    f"  - infini-gram steps: tokenize ≈ {b['wall_s'] - b['build_sa_s']:.1f} s, "
                    f"suffix array {b['build_sa_s']:.1f} s "
                    f"(make-part {b.get('make_part_s', 0):.1f}, "
                    f"merge {b.get('merge_s', 0):.1f}, concat {b.get('concat_s', 0):.1f})"
                )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
