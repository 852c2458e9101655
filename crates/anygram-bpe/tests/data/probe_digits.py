#!/usr/bin/env python3
"""Regenerate digits_numeric.txt: python3 probe_digits.py digits_numeric.txt

Runs of code points (`lo hi`, hex) that HF's `Digits(individual_digits=True)` pre-tokenizer
isolates, i.e. `char::is_numeric` of the Rust that built `tokenizers`. Probed through the
`tokenizers` library itself, so the Rust side is checked against the real engine.
"""

import sys

from tokenizers import pre_tokenizers

pt = pre_tokenizers.Digits(individual_digits=True)
numeric = []
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    if len(pt.pre_tokenize_str("a" + chr(cp) + "a")) == 3:
        numeric.append(cp)
ranges = []
for cp in numeric:
    if ranges and ranges[-1][1] == cp - 1:
        ranges[-1][1] = cp
    else:
        ranges.append([cp, cp])
with open(sys.argv[1], "w") as f:
    f.write("".join(f"{lo:X} {hi:X}\n" for lo, hi in ranges))
print(len(numeric), "code points in", len(ranges), "runs")
