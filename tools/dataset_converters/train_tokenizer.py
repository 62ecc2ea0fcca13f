# Copyright (c) medvlp contributors. All rights reserved.
"""Train a WordPiece tokenizer on radiology reports with Hugging Face ``tokenizers``.

The tokenizer has the same pipeline as the shipped MIMIC-CXR vocabulary (normaliser
Lowercase + NFKD + StripAccents, or without Lowercase with ``--cased``; pre-tokeniser
Whitespace + Digits; ``##`` continuation prefix) and the special tokens ``[PAD]`` ``[UNK]``
``[CLS]`` ``[SEP]`` ``[MASK]`` (ids 0-4). It is written to ``<out>/tokenizer.json``, which
``WordPieceTokenizer(tokenizer_file='<out>')`` loads. Reports are cleaned and reduced to the
chosen sections first (default: findings and impression), like ``ReportProcessor`` does.

Corpus formats: a folder of raw ``.txt`` reports (MIMIC-CXR), a ``.txt`` report, or
``.json``/``.jsonl`` records with a ``report`` field or section fields (IU/OpenI JSONL, medvlp
annotation files).

Example::

    python tools/dataset_converters/train_tokenizer.py \\
        ../shared/data/openi/openi_reports.jsonl --out work_dirs/openi_wordpiece --vocab-size 8000
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from medvlp.text.corpus import iter_report_texts  # noqa: E402
from medvlp.text.tokenizers import (CLS_TOKEN, MASK_TOKEN, PAD_TOKEN,  # noqa: E402
                                    SEP_TOKEN, TOKENIZER_JSON, UNK_TOKEN)

SPECIAL_TOKENS = [PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN]


def build_untrained(lowercase: bool = True):
    """An empty WordPiece ``tokenizers.Tokenizer`` with medvlp's pipeline."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN, continuing_subword_prefix='##'))
    steps = [normalizers.Lowercase()] if lowercase else []
    tokenizer.normalizer = normalizers.Sequence(
        steps + [normalizers.NFKD(), normalizers.StripAccents()])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=False)])
    tokenizer.decoder = decoders.WordPiece(prefix='##')
    return tokenizer


def train(texts, vocab_size: int, min_frequency: int, lowercase: bool = True):
    """Train and return a ``tokenizers.Tokenizer`` on an iterable of report texts."""
    from tokenizers import trainers
    tokenizer = build_untrained(lowercase)
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=SPECIAL_TOKENS,
        continuing_subword_prefix='##', show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a WordPiece tokenizer.json on a corpus of radiology reports.')
    parser.add_argument('corpus', nargs='+',
                        help='report folders (.txt files), .txt reports or .json/.jsonl records')
    parser.add_argument('--out', required=True,
                        help=f'output folder; the tokenizer is written to <out>/{TOKENIZER_JSON}')
    parser.add_argument('--vocab-size', type=int, default=30000,
                        help='maximum vocabulary size, special tokens included (default: 30000)')
    parser.add_argument('--min-frequency', type=int, default=2,
                        help='minimum count of a merged piece (default: 2)')
    parser.add_argument('--sections', nargs='+', default=['findings', 'impression'],
                        help='report sections to train on (default: findings impression)')
    parser.add_argument('--limit', type=int, default=None, help='use at most this many reports')
    parser.add_argument('--cased', action='store_true', help='do not lower-case')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.vocab_size <= len(SPECIAL_TOKENS):
        print(f'error: --vocab-size must exceed {len(SPECIAL_TOKENS)}', file=sys.stderr)
        return 1
    texts = []
    try:
        texts = list(iter_report_texts(args.corpus, args.sections, args.limit))
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if not texts:
        print(f'error: no report text found in {" ".join(args.corpus)}', file=sys.stderr)
        return 1
    tokenizer = train(texts, args.vocab_size, args.min_frequency, lowercase=not args.cased)
    os.makedirs(args.out, exist_ok=True)
    path = osp.join(args.out, TOKENIZER_JSON)
    tokenizer.save(path)
    print(f'trained on {len(texts)} reports: {tokenizer.get_vocab_size()} tokens -> {path}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
