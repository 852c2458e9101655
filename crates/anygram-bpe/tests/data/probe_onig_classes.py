#!/usr/bin/env python3
"""Regenerate onig_classes.txt: python3 probe_onig_classes.py onig_classes.txt

Runs of code points, each with the class that the GPT-2 regex of HF ByteLevel (Oniguruma)
sees: L (\\p{L}), N (\\p{N}), W (\\s) or O (other). Probed through the `tokenizers` library
itself, so the Rust tables are checked against the real engine.
"""
import sys
# Classify every codepoint the way HF's ByteLevel regex (onig) sees it: L, N, W (\s), O (other).
from tokenizers import pre_tokenizers
pt = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
out = []
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        out.append('O'); continue
    c = chr(cp)
    if len(pt.pre_tokenize_str('a' + c)) == 1: out.append('L')
    elif len(pt.pre_tokenize_str('1' + c)) == 1: out.append('N')
    elif len(pt.pre_tokenize_str('!' + c)) == 1: out.append('O')
    else: out.append('W')
# run-length ranges
s = ''.join(out)
ranges = []
start = 0
for i in range(1, len(s) + 1):
    if i == len(s) or s[i] != s[start]:
        ranges.append(f'{start:X} {i-1:X} {s[start]}')
        start = i
open('sys.argv[1]', 'w').write('\n'.join(ranges) + '\n')
print(len(ranges))
