# Copyright (c) medvlp contributors. All rights reserved.
"""Convert NIH ChestX-ray14's ``Data_Entry_2017*.csv`` into medvlp split lists.

Labels: ``Finding Labels`` holds findings joined by ``|``; ``No Finding`` is all zero. The
14 classes are written in MRM's order (Atelectasis, Cardiomegaly, Effusion, Infiltration,
Mass, Nodule, Pneumonia, Pneumothorax, Consolidation, Edema, Emphysema, Fibrosis,
Pleural_Thickening, Hernia). A finding outside them is an error.

Splits: by default MRM's official 1/10/100% train, val and test lists (shipped with medvlp);
each listed image gets its labels from the table, and images whose table labels differ from
the list are counted and, by default, skipped (``--on-disagree``). ``--sample SEED`` instead
draws a seeded patient-disjoint stratified split (by ``Patient ID``).

Example::

    python tools/dataset_converters/prepare_nih.py data/nih/Data_Entry_2017_v2020.csv \\
        data/nih/lists --images data/nih/images
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.classification import NIH_CLASSES  # noqa: E402
from medvlp.datasets.classification.conversion import (ConversionReport,  # noqa: E402
                                                       add_split_args, image_checker,
                                                       match_official_list, official_lists,
                                                       sample_splits)
from medvlp.datasets.classification.label_tables import (nih_labels,  # noqa: E402
                                                         read_nih_table)
from medvlp.utils.cli import report_user_errors  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('table', help='Data_Entry_2017_v2020.csv (or .csv.gz)')
    parser.add_argument('out_dir', help='folder for the split lists')
    add_split_args(parser, 'NIH_ChestX-ray')
    return parser.parse_args(argv)


def convert(args) -> ConversionReport:
    rows = read_nih_table(args.table)
    labels, patients = {}, {}
    for lineno, row in enumerate(rows, start=2):
        image = row['Image Index']
        labels[image] = nih_labels(row['Finding Labels'], f'{args.table}, line {lineno}: ')
        patients[image] = row.get('Patient ID') or image.split('_')[0]
    report = ConversionReport(NIH_CLASSES)
    exists = image_checker(args.images)
    if args.sample is not None:
        samples = [(image, patients[image], lab) for image, lab in labels.items()]
        sample_splits(report, samples, args.sample, args.val_ratio, args.test_ratio, exists)
        return report
    for split, path in official_lists(args, 'NIH_ChestX-ray').items():
        match_official_list(report, split, path, labels, exists, args.on_disagree)
    return report


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('prepare_nih.py'):
        report = convert(args)
        written = report.write(args.out_dir, compress=args.gzip)
    print(report.summary())
    print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
