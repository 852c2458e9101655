#!/usr/bin/env python3
"""Regenerate the golden test data of anygram-bpe with the Python `tokenizers` library.

    pip install tokenizers tiktoken
    python3 crates/anygram-bpe/tests/data/make_golden.py

Writes, next to this script:
- tok1000.json: a 1000-token byte-level BPE trained on a few Python stdlib modules with the
  trainer settings of the shared corpus tokenizer (shared/corpus/train_tokenizer.py);
- tok1000.tiktoken: the same vocabulary as tiktoken ranks (rank = id; <|endoftext|> dropped);
- golden_tiktoken.json: tiktoken's `encode_ordinary` ids of TEXTS for each published pattern
  (taken from the installed tiktoken_ext.openai_public), with those ranks;
- golden.json: for each variant of that tokenizer (a list of JSON edits applied to
  tok1000.json, replayed identically by tests/golden.rs), the ids `tokenizers` gives for
  every string in TEXTS with `encode(text, add_special_tokens=False)`, or the fact that the
  variant must be refused as unsupported.
"""
import copy
import json
import os
import sysconfig

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

HERE = os.path.dirname(os.path.abspath(__file__))
STDLIB = ['textwrap.py', 'string.py', 'shlex.py', 'difflib.py', 'argparse.py', 'csv.py',
          'fnmatch.py', 'heapq.py', 'bisect.py', 'json/decoder.py', 'json/encoder.py']

TEXTS = [
    '', ' ', '  ', '\n', 'a', 'Hello world', 'Hello  world', 'hello\tworld\n', 'trailing   ',
    "don't you're we've I'm they'll he'd it's", "DON'T 'S 'Re 'rE", "'s'sd'll'x", "rock'n'roll",
    '  leading', '\n\n\nparagraph\n\n', 'line\r\nline\r\n', 'x\u00a0y\u2028z\u3000w', '\x0b\x0c\x1c\x1d',
    'def f(x):\n    return x ** 2  # square\n', 'if (a != b) { return -1; }\n\t\t}\n',
    '12345 3.14159 1,000,000 ⅔ ½ ٣٤٥ ๑๒ Ⅻ', '日本語のテキスト、中文文本。한국어', 'e\u0301 a\u0308 n\u0303',
    '😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷', 'Ünïcödé façade naïve café', 'ǅǈǋ ʰʲ ᾈ', 'αβγ δ Кириллица',
    '<|endoftext|>', 'a<|endoftext|>b', 'word <|endoftext|> word', '<|endoftext|><|endoftext|>',
    ' <|endoftext|>', '<|endoftext|', '<|endoftext|>\n\nNext document', 'x<|endoftext|>',
    'mask: <mask> and <mask>. x<mask>y  <mask>\t<mask>', 'hello world hello worlds hello  world',
    'def define undefined def', 'say hello world!<mask>', 'ab' * 60, '=' * 120, ' ' * 100 + 'x',
    '\t' * 70, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'supercalifragilisticexpialidocious' * 3, '----====----____', '\\n\\t\\"', '"quoted" (paren) [bracket]',
    '       indented code\n       more', 'a<foo>b <foo>', 'mixed \u2003em\u2009thin\u200bzwsp', '\ud7ff\ue000\U0010ffff',
    "a  1 x\n\n2  v2's 0x1F 2024-01-01\u00a07 \U00011de0\U00016ff4 3 ", '  42\t\t7\n\n\n8',
]

# Each variant: (name, edits, expect_supported). Edits are [json_pointer, value] pairs set in
# order, plus the pseudo-edit ["merges_as_strings", true].
VARIANTS = [
    ('base', [], True),
    ('prefix_space_string_merges', [['/pre_tokenizer/add_prefix_space', True],
                                    ['merges_as_strings', True]], True),
    ('added_tokens', [['/added_tokens/1', {'id': 1000, 'content': '<mask>', 'single_word': True,
                                            'lstrip': True, 'rstrip': False, 'normalized': False,
                                            'special': True}],
                      ['/added_tokens/2', {'id': 1001, 'content': 'hello world', 'single_word': False,
                                            'lstrip': False, 'rstrip': True, 'normalized': True,
                                            'special': False}],
                      ['/added_tokens/3', {'id': 'DEF_ID', 'content': 'def', 'single_word': False,
                                            'lstrip': False, 'rstrip': False, 'normalized': True,
                                            'special': False}]], True),
    # tokenizers ignores stored added-token ids and re-derives them on load.
    ('added_token_ids_rederived', [['/added_tokens/0/id', 3],
                                   ['/added_tokens/1', {'id': 5000, 'content': '<foo>', 'single_word': False,
                                                        'lstrip': False, 'rstrip': False, 'normalized': False,
                                                        'special': True}]], True),
    ('ignore_merges', [['/model/ignore_merges', True]], True),
    ('sequence_no_regex', [['/pre_tokenizer', {'type': 'Sequence', 'pretokenizers': [
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': False}]}]], True),
    ('normalizer', [['/normalizer', {'type': 'Lowercase'}]], False),
    ('dropout', [['/model/dropout', 0.1]], False),
    ('byte_fallback', [['/model/byte_fallback', True]], False),
    ('truncation', [['/truncation', {'direction': 'Right', 'max_length': 4, 'strategy': 'LongestFirst',
                                     'stride': 0}]], False),
    ('whitespace_pretok', [['/pre_tokenizer', {'type': 'Whitespace'}]], False),
    # SmolLM / StarCoder: every digit alone, then GPT-2.
    ('digits_individual', [['/pre_tokenizer', {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Digits', 'individual_digits': True},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}]}]], True),
    ('digits_contiguous', [['/pre_tokenizer', {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Digits', 'individual_digits': False},
        {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True}]}]], False),
    ('digits_prefix_space', [['/pre_tokenizer', {'type': 'Sequence', 'pretokenizers': [
        {'type': 'Digits', 'individual_digits': True},
        {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True}]}]], False),
]


def apply(tok, edits):
    tok = copy.deepcopy(tok)
    for ptr, value in edits:
        if ptr == 'merges_as_strings':
            tok['model']['merges'] = [' '.join(m) for m in tok['model']['merges']]
            continue
        parts = ptr.strip('/').split('/')
        node = tok
        for p in parts[:-1]:
            node = node[int(p)] if isinstance(node, list) else node[p]
        last = parts[-1]
        if isinstance(node, list):
            i = int(last)
            if i == len(node):
                node.append(value)
            else:
                node[i] = value
        else:
            node[last] = value
    return tok


def main():
    tok_path = os.path.join(HERE, 'tok1000.json')
    if not os.path.exists(tok_path):
        lib = sysconfig.get_paths()['stdlib']
        texts = [open(os.path.join(lib, f), encoding='utf-8').read() for f in STDLIB]
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=1000, min_frequency=2, special_tokens=['<|endoftext|>'],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                      show_progress=False)
        tok.train_from_iterator(texts, trainer=trainer)
        tok.save(tok_path)
    base = json.load(open(tok_path, encoding='utf-8'))
    golden = {'texts': TEXTS, 'variants': []}
    for name, edits, supported in VARIANTS:
        # Resolve the placeholder id ("def" keeps its vocab id) so Rust replays plain values.
        edits = [[p, dict(v, id=base['model']['vocab']['def']) if isinstance(v, dict) and v.get('id') == 'DEF_ID' else v]
                 for p, v in edits]
        variant = apply(base, edits)
        entry = {'name': name, 'edits': edits, 'supported': supported}
        if supported:
            hf = Tokenizer.from_str(json.dumps(variant))
            entry['ids'] = [hf.encode(t, add_special_tokens=False).ids for t in TEXTS]
            entry['vocab_size'] = 1 + max(hf.get_vocab(with_added_tokens=True).values())
        golden['variants'].append(entry)
    with open(os.path.join(HERE, 'golden.json'), 'w', encoding='utf-8') as f:
        json.dump(golden, f, ensure_ascii=True, separators=(',', ':'))
        f.write('\n')
    make_tiktoken(base)


def make_tiktoken(base):
    import base64

    import tiktoken
    from tiktoken_ext import openai_public

    byte_of = gpt2_char_to_byte()
    ranks = {}
    added = {t['content'] for t in base['added_tokens']}
    for token, rank in base['model']['vocab'].items():
        if token not in added:
            ranks[bytes(byte_of[c] for c in token)] = rank
    with open(os.path.join(HERE, 'tok1000.tiktoken'), 'w') as f:
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]):
            f.write(f'{base64.b64encode(token).decode()} {rank}\n')
    openai_public.load_tiktoken_bpe = lambda *a, **k: {}
    patterns = {'r50k': openai_public.r50k_base()['pat_str'],
                'cl100k': openai_public.cl100k_base()['pat_str'],
                'o200k': openai_public.o200k_base()['pat_str']}
    golden = {'texts': TEXTS, 'patterns': {}}
    for name, pat in patterns.items():
        enc = tiktoken.Encoding(f'test_{name}', pat_str=pat, mergeable_ranks=ranks, special_tokens={})
        golden['patterns'][name] = [enc.encode_ordinary(t) for t in TEXTS]
    with open(os.path.join(HERE, 'golden_tiktoken.json'), 'w', encoding='utf-8') as f:
        json.dump(golden, f, ensure_ascii=True, separators=(',', ':'))
        f.write('\n')


def gpt2_char_to_byte():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('\u00a1'), ord('\u00ac') + 1)) + \
        list(range(ord('\u00ae'), ord('\u00ff') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


if __name__ == '__main__':
    main()
