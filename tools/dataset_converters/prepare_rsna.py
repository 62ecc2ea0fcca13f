# Copyright (c) medvlp contributors. All rights reserved.
"""Convert RSNA Pneumonia's ``stage_2_train_labels.csv`` into medvlp split lists.

The table has one row per box (``patientId, x, y, width, height, Target``; negative rows
have empty boxes): a patient's label is 1 if any of its rows has ``Target`` 1. Images are
``stage_2_train_images/<patientId>.dcm``.

Splits: by default MRM's official 1/10/100% train, val and test lists (shipped with medvlp),
with labels from the table (images that disagree with the list are counted and, by default,
skipped); ``--sample SEED`` draws a seeded, stratified split instead (one image per patient).

Example::

    python tools/dataset_converters/prepare_rsna.py \\
        data/rsna/stage_2_train_labels.csv data/rsna/lists --images data/rsna
"""
import argparse
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.classification import RSNA_CLASSES  # noqa: E402
from medvlp.datasets.classification.conversion import (ConversionReport,  # noqa: E402
                                                       add_split_args, copy_official_list,
                                                       image_checker, match_official_list,
                                                       official_lists, sample_splits)
from medvlp.datasets.classification.label_tables import (read_rsna_table,  # noqa: E402
                                                         rsna_targets)
from medvlp.utils.cli import report_user_errors  # noqa: E402

IMAGE_FOLDER = 'stage_2_train_images'


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('table', help='stage_2_train_labels.csv (or .zip / .csv.gz)')
    parser.add_argument('out_dir', help='folder for the split lists')
    add_split_args(parser, 'RSNA_Pneumonia')
    return parser.parse_args(argv)


def convert(args) -> ConversionReport:
    targets = rsna_targets(read_rsna_table(args.table), f'{args.table}, ')
    labels = {f'{IMAGE_FOLDER}/{pid}.dcm': np.array([t], dtype=np.uint8)
              for pid, t in targets.items()}
    report = ConversionReport(RSNA_CLASSES)
    exists = image_checker(args.images)
    if args.sample is not None:
        samples = [(image, image, lab) for image, lab in labels.items()]
        sample_splits(report, samples, args.sample, args.val_ratio, args.test_ratio, exists)
        return report
    for split, path in official_lists(args, 'RSNA_Pneumonia').items():
        if split == 'test':
            # MRM tests on stage_2_test_images, whose labels are not in the training table
            copy_official_list(report, split, path, exists,
                               ' (stage 2 test images are not in the training table)')
        else:
            match_official_list(report, split, path, labels, exists, args.on_disagree)
    return report


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('prepare_rsna.py'):
        report = convert(args)
        written = report.write(args.out_dir, compress=args.gzip)
    print(report.summary())
    print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
