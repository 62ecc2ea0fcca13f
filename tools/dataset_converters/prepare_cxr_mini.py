# Copyright (c) medvlp contributors. All rights reserved.
"""Write the data of the cxr-mini CPU experiment: covid-cxr split by patient.

The patients of ``shared/data/covid-cxr`` (stratified by COVID-19 vs other, seeded) go to a
development part (pre-training and downstream training) or a held-out test part; the
images (resized), lung masks, pre-training records, retrieval pairs, classification and
segmentation lists are written into OUT, then read back to check that no held-out image
or patient is in a training file. Rerunning with the same arguments rewrites nothing.
See ``medvlp/benchmark/cxr_mini.py`` for the layout.

Example::

    python tools/dataset_converters/prepare_cxr_mini.py ../shared/data/covid-cxr \\
        work_dirs/benchmark/cxr_mini_data
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.benchmark.cxr_mini import write_cxr_mini  # noqa: E402
from medvlp.utils.cli import report_user_errors  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='the covid-cxr folder (metadata.csv, images/, masks/)')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--test-ratio', type=float, default=0.3,
                        help='share of the patients held out (default: 0.3)')
    parser.add_argument('--seed', type=int, default=0, help='split seed (default: 0)')
    parser.add_argument('--max-side', type=int, default=192,
                        help='longer side of the written images (default: 192)')
    parser.add_argument('--nltk-data', help='folder with tokenizers/punkt_tab/english for '
                        'sentence splitting (sets MEDVLP_NLTK_DATA), e.g. '
                        'shared/data/vocab/nltk_data')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.nltk_data:
        if not osp.isdir(args.nltk_data):
            raise SystemExit(f'prepare_cxr_mini.py: --nltk-data {args.nltk_data} is not a '
                             'folder')
        os.environ['MEDVLP_NLTK_DATA'] = args.nltk_data
    with report_user_errors('prepare_cxr_mini.py'):
        write_cxr_mini(args.src, args.out, args.test_ratio, args.seed, args.max_side)


if __name__ == '__main__':
    main()
