# Copyright (c) medvlp contributors. All rights reserved.
"""Convert CheXpert's ``train.csv`` into medvlp split lists (MRM's 1/10/100% protocol).

Labels: the 14 observations are ``1.0`` (positive), ``0.0`` (negative), ``-1.0``
(uncertain) or blank (not mentioned, negative). Uncertain labels follow a per-class policy,
by default the standard 5-class recipe: -1 → 1 for Atelectasis, Edema and Pleural Effusion,
-1 → 0 for Cardiomegaly and Consolidation (``--uncertain Edema=0`` changes one class).

Splits: by default MRM's official lists (shipped with medvlp): ``train_1``/``train_10`` and
``val_list`` are looked up in the table; the 100% list, missing upstream, is rebuilt as every
``train.csv`` row not in ``val_list`` (218,414 rows), and the 1% and 10% lists are checked to
be subsets of it. ``test_list`` (the official CheXpert validation set, not in ``train.csv``)
comes from ``--valid-csv`` when given, else it is copied from the official list.
``--sample SEED`` instead draws a seeded patient-disjoint stratified split.

Example::

    python tools/dataset_converters/prepare_chexpert.py \\
        data/CheXpert-v1.0-small/train.csv data/chexpert/lists \\
        --valid-csv data/CheXpert-v1.0-small/valid.csv --images data --frontal-only
"""
import argparse
import os.path as osp
import re
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.classification import (CHEXPERT_COMPETITION_CLASSES,  # noqa: E402
                                            official_split_list, parse_split_list)
from medvlp.datasets.classification.conversion import (ConversionReport,  # noqa: E402
                                                       copy_official_list, image_checker,
                                                       match_official_list,
                                                       official_list_path, sample_splits)
from medvlp.datasets.classification.label_tables import (  # noqa: E402
    CHEXPERT_OBSERVATIONS, CHEXPERT_UNCERTAINTY_POLICY, LabelTableError, chexpert_labels,
    read_chexpert_table)
from medvlp.utils.cli import UserError, report_user_errors  # noqa: E402

PATIENT = re.compile(r'(patient\d+)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('train_csv', help='CheXpert train.csv (or .csv.gz)')
    parser.add_argument('out_dir', help='folder for the split lists')
    parser.add_argument('--valid-csv', help='CheXpert valid.csv: the test split')
    parser.add_argument('--lists', help='folder of official lists (default: those shipped '
                        'with medvlp)')
    parser.add_argument('--images', help='root the table paths are relative to; images '
                        'missing there are skipped (default: no check)')
    parser.add_argument('--classes', nargs='+', default=list(CHEXPERT_COMPETITION_CLASSES),
                        help='observations to keep, in output column order')
    parser.add_argument('--uncertain', nargs='+', default=[], metavar='CLASS=0|1',
                        help='what -1 becomes for a class (overrides the standard recipe)')
    parser.add_argument('--frontal-only', action='store_true', help='drop lateral views')
    parser.add_argument('--on-disagree', choices=['skip', 'table', 'list'], default='skip',
                        help='images whose table labels differ from an official list')
    parser.add_argument('--sample', type=int, metavar='SEED',
                        help='draw a seeded patient-disjoint split instead of the '
                        'official lists')
    parser.add_argument('--val-ratio', type=float, default=0.1)
    parser.add_argument('--test-ratio', type=float, default=0.2)
    parser.add_argument('--gzip', action='store_true', help='write .txt.gz lists')
    return parser.parse_args(argv)


def uncertainty_policy(overrides, classes):
    policy = dict(CHEXPERT_UNCERTAINTY_POLICY)
    for item in overrides:
        name, _, value = item.rpartition('=')
        if name not in CHEXPERT_OBSERVATIONS or value not in ('0', '1'):
            raise UserError(f'--uncertain {item!r}: expected CLASS=0 or CLASS=1 with CLASS '
                            f'one of {list(CHEXPERT_OBSERVATIONS)}')
        policy[name] = int(value)
    unknown = [c for c in classes if c not in CHEXPERT_OBSERVATIONS]
    if unknown:
        raise UserError(f'--classes: unknown observation(s) {unknown}; the valid ones are '
                        f'{list(CHEXPERT_OBSERVATIONS)}')
    return policy


def table_labels(rows, classes, policy, where):
    """Path → labels and Path → view of a CheXpert table."""
    labels, views = {}, {}
    for lineno, row in enumerate(rows, start=2):
        labels[row['Path']] = chexpert_labels(row, classes, policy, f'{where}, line {lineno}: ')
        views[row['Path']] = row['Frontal/Lateral']
    return labels, views


def convert(args) -> ConversionReport:
    classes = list(args.classes)
    policy = uncertainty_policy(args.uncertain, classes)
    rows = read_chexpert_table(args.train_csv)
    labels, views = table_labels(rows, classes, policy, args.train_csv)
    exists = image_checker(args.images)

    def lateral(path):
        """The skip reason of a lateral view under --frontal-only, else None."""
        if args.frontal_only and views.get(path) == 'Lateral':
            return 'lateral views filtered'
        return None

    report = ConversionReport(classes)
    if args.sample is not None:
        samples = []
        for path, lab in labels.items():
            reason = lateral(path)
            if reason is None and exists is not None and not exists(path):
                reason = 'image file missing'
            if reason:
                report.skip('input', reason)
                continue
            patient = PATIENT.search(path)
            samples.append((path, patient.group(1) if patient else path, lab))
        sample_splits(report, samples, args.sample, args.val_ratio, args.test_ratio)
        return report
    if classes != list(CHEXPERT_COMPETITION_CLASSES):
        raise UserError('the official lists hold the 5 competition classes '
                        f'{list(CHEXPERT_COMPETITION_CLASSES)}; use --sample for others')

    def listed(split):
        if args.lists:
            return official_list_path(args.lists, split)
        name, _, fraction = split.partition('_')
        return official_split_list('CheXpert', name, int(fraction or 100))

    for split in ('train_1', 'train_10', 'val'):
        match_official_list(report, split, listed(split), labels, exists, args.on_disagree,
                            lateral)
    # The 100% list: every train.csv row that is not a validation image.
    val_images = {image for image, _ in parse_split_list(listed('val'), len(classes))}
    full = {p: lab for p, lab in labels.items() if p not in val_images}
    for path, lab in full.items():
        reason = lateral(path)
        if reason:
            report.skip('train_100', reason)
        elif exists is not None and not exists(path):
            report.skip('train_100', 'image file missing')
        else:
            report.add('train_100', path, lab)
    for split in ('train_1', 'train_10'):
        outside = [p for p, _ in parse_split_list(listed(split), len(classes)) if p not in full]
        if outside:
            raise LabelTableError(f'{len(outside)} images of the official {split} list are '
                                  f'not in the rebuilt 100% list (first: {outside[0]})')
    if args.valid_csv:
        valid, valid_views = table_labels(
            read_chexpert_table(args.valid_csv), classes, policy, args.valid_csv)
        views.update(valid_views)
        for path, lab in valid.items():
            reason = lateral(path)
            if reason:
                report.skip('test', reason)
            elif exists is not None and not exists(path):
                report.skip('test', 'image file missing')
            else:
                report.add('test', path, lab)
    else:
        copy_official_list(report, 'test', listed('test'), exists,
                           ' (no --valid-csv; the test set is not in train.csv)')
    return report


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('prepare_chexpert.py'):
        report = convert(args)
        written = report.write(args.out_dir, compress=args.gzip)
    print(report.summary())
    print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
