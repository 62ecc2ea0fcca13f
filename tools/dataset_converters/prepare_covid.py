# Copyright (c) medvlp contributors. All rights reserved.
"""Convert MRM's COVID-19 5-fold lists into medvlp split lists for the images you have.

MRM's lists (``covid{1..5}/iscovid_{train,val,test}.txt`` for COVID-19 vs other,
``viral{1..5}/isviral_*.txt`` for viral vs bacterial pneumonia) have one line per image,
``<filename> <label>``, naming files of the full COVID-19 image data collection. With
``--metadata`` (a ``metadata.csv`` with ``filename`` and ``original_filename`` columns, as in
medvlp's shared covid-cxr folder) the original names are mapped to the local ones. Lines
are skipped, and counted, when the image is not in ``--images``, when the metadata has no
row for it, or when the label is not 0/1 (``viral1/isviral_test.txt`` ships one ``11``).

Output: ``OUT/<task><fold>/{train_list,val_list,test_list}.txt``, one class (``COVID-19``
or ``viral``), read by ``COVIDCXRDataset``.

Example::

    python tools/dataset_converters/prepare_covid.py data/covid-cxr/splits data/covid/lists \\
        --images data/covid-cxr/images --metadata data/covid-cxr/metadata.csv --folds 1
"""
import argparse
import csv
import os.path as osp
import sys

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.classification.conversion import (ConversionReport,  # noqa: E402
                                                       image_checker)
from medvlp.datasets.classification.label_tables import LabelTableError  # noqa: E402
from medvlp.utils.cli import UserError, report_user_errors  # noqa: E402

TASKS = {'covid': ('iscovid', 'COVID-19'), 'viral': ('isviral', 'viral')}
SPLITS = {'train_100': 'train', 'val': 'val', 'test': 'test'}
METADATA_COLUMNS = ('filename', 'original_filename')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('splits', help='folder holding covid1/ ... viral5/')
    parser.add_argument('out_dir', help='folder for the split lists')
    parser.add_argument('--task', choices=sorted(TASKS), default='covid')
    parser.add_argument('--folds', type=int, nargs='+', default=[1, 2, 3, 4, 5])
    parser.add_argument('--images', help='image folder; lines naming images missing there '
                        'are skipped (default: no check)')
    parser.add_argument('--metadata', help='metadata.csv mapping original_filename to '
                        'filename')
    return parser.parse_args(argv)


def read_name_map(path):
    """``original_filename`` → ``filename`` from a metadata table."""
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.DictReader(f)
        missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise LabelTableError(f'{path}: missing columns {missing}; found '
                                  f'{reader.fieldnames}')
        return {row['original_filename']: row['filename'] for row in reader}


def read_fold_list(path):
    """``[(lineno, filename, label text)]`` of a ``<filename> <label>`` list."""
    rows = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != 2:
                raise LabelTableError(f'{path}, line {lineno}: expected "<filename> <label>", '
                                      f'got {line.strip()!r}')
            rows.append((lineno, fields[0], fields[1]))
    return rows


def convert_fold(args, fold, name_map):
    prefix, class_name = TASKS[args.task]
    report = ConversionReport([class_name])
    exists = image_checker(args.images)
    for split, stem in SPLITS.items():
        path = osp.join(args.splits, f'{args.task}{fold}', f'{prefix}_{stem}.txt')
        if not osp.isfile(path):
            raise UserError(f'split list "{path}" does not exist')
        for _, name, label in read_fold_list(path):
            if label not in ('0', '1'):
                report.skip(split, f'label not 0/1 ({label!r})')
                continue
            if name_map is not None:
                if name not in name_map:
                    report.skip(split, 'image missing (no metadata row)')
                    continue
                name = name_map[name]
            if exists is not None and not exists(name):
                report.skip(split, 'image file missing')
                continue
            report.add(split, name, [int(label)])
    return report


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('prepare_covid.py'):
        name_map = read_name_map(args.metadata) if args.metadata else None
        for fold in args.folds:
            report = convert_fold(args, fold, name_map)
            written = report.write(osp.join(args.out_dir, f'{args.task}{fold}'))
            print(f'== {args.task} fold {fold}')
            print(report.summary())
            print('wrote ' + ', '.join(written))


if __name__ == '__main__':
    main()
