# Copyright (c) medvlp contributors. All rights reserved.
"""Train an NLTK Punkt sentence-boundary model on radiology reports and save it as JSON.

Use it on machines whose NLTK data has no ``punkt_tab`` (nothing is downloaded), or to get a
model that knows a report collection's own abbreviations. The model is written as one JSON
file (sorted, no pickle) that ``SentenceSplitter(punkt_file=...)`` loads;
``ReportProcessor(splitter=SentenceSplitter(punkt_file=...))`` uses it for whole reports.
Reports are cleaned and reduced to the chosen sections first (default: findings and impression).

Corpus formats: a folder of raw ``.txt`` reports (MIMIC-CXR), a ``.txt`` report, or
``.json``/``.jsonl`` records with a ``report`` field or section fields (IU/OpenI JSONL, medvlp
annotation files).

Example::

    python tools/dataset_converters/train_punkt.py \\
        ../shared/data/openi/openi_reports.jsonl --out work_dirs/punkt_openi.json
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from medvlp.text.corpus import iter_report_texts  # noqa: E402
from medvlp.text.punkt_model import write_punkt_json  # noqa: E402

#: Reports given to the trainer per call; keeps memory flat on large corpora.
CHUNK_REPORTS = 2000


def train(texts):
    """Train Punkt on an iterable of report texts; return ``(PunktParameters, n_reports)``."""
    from nltk.tokenize.punkt import PunktTrainer
    trainer = PunktTrainer()
    chunk, count = [], 0
    for text in texts:
        chunk.append(text)
        count += 1
        if len(chunk) == CHUNK_REPORTS:
            trainer.train('\n\n'.join(chunk), finalize=False)
            chunk = []
    if chunk:
        trainer.train('\n\n'.join(chunk), finalize=False)
    trainer.finalize_training()
    return trainer.get_params(), count


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Train a Punkt sentence splitter on radiology reports (offline).')
    parser.add_argument('corpus', nargs='+',
                        help='report folders (.txt files), .txt reports or .json/.jsonl records')
    parser.add_argument('--out', required=True, help='output model file (.json)')
    parser.add_argument('--sections', nargs='+', default=['findings', 'impression'],
                        help='report sections to train on (default: findings impression)')
    parser.add_argument('--limit', type=int, default=None, help='use at most this many reports')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        params, count = train(iter_report_texts(args.corpus, args.sections, args.limit))
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    if not count:
        print(f'error: no report text found in {" ".join(args.corpus)}', file=sys.stderr)
        return 1
    import nltk
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    write_punkt_json(params, args.out, metadata={
        'trained_on_reports': count,
        'corpus': [osp.basename(osp.normpath(path)) for path in args.corpus],
        'sections': list(args.sections),
        'nltk_version': nltk.__version__,
    })
    print(f'trained Punkt on {count} reports: {len(params.abbrev_types)} abbreviations, '
          f'{len(params.collocations)} collocations, {len(params.sent_starters)} sentence '
          f'starters -> {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
