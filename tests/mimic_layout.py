# Copyright (c) medvlp contributors. All rights reserved.
"""A realistic MIMIC-CXR-JPG 2.x + reports layout built from real data, for tests.

Real OpenI report texts are rewritten in MIMIC's ``.txt`` report format and real chest
X-rays (the covid-cxr PNGs) are saved as JPEGs in the official ``files/pXX/pXXXXXXXX/
sXXXXXXXX/<dicom_id>.jpg`` layout, with the three official ``.csv.gz`` tables. Used by the
``mimic_layout`` fixture in ``tests/conftest.py``.
"""
import csv
import gzip
import hashlib
import json
import textwrap
from pathlib import Path

from PIL import Image

CHEXPERT = ['Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Enlarged Cardiomediastinum',
            'Fracture', 'Lung Lesion', 'Lung Opacity', 'No Finding', 'Pleural Effusion',
            'Pleural Other', 'Pneumonia', 'Pneumothorax', 'Support Devices']
METADATA_COLUMNS = ['dicom_id', 'subject_id', 'study_id', 'PerformedProcedureStepDescription',
                    'ViewPosition', 'Rows', 'Columns', 'StudyDate', 'StudyTime',
                    'ProcedureCodeSequence_CodeMeaning', 'ViewCodeSequence_CodeMeaning',
                    'PatientOrientationCodeSequence_CodeMeaning']

#: (subject, study, split, [(view, image kind)], report kind); image kind 'ok' | 'missing'.
STUDIES = [
    ('10000032', '50414267', 'train', [('PA', 'ok'), ('LATERAL', 'ok')], 'full'),
    ('10000032', '53189527', 'train', [('AP', 'ok'), ('AP', 'ok')], 'impression-only'),
    ('10000764', '57375967', 'validate', [('PA', 'ok'), ('AP', 'missing')], 'full'),
    ('10000898', '50771383', 'test', [('PA', 'ok')], 'full'),
    ('10000935', '51178377', 'train', [('AP', 'ok')], 'no-sections'),
    ('10000980', '54577367', 'train', [('PA', 'ok')], 'missing'),
    ('10001122', '56451390', 'train', [('', 'ok')], 'full'),
]


def dicom_id(subject, study, index):
    digest = hashlib.sha1(f'{subject}/{study}/{index}'.encode()).hexdigest()[:40]
    return '-'.join(digest[i:i + 8] for i in range(0, 40, 8))


def mimic_report_text(report, kind):
    """An OpenI report written the way MIMIC-CXR's .txt reports look."""

    def block(text):
        return textwrap.fill(text.replace('XXXX', '___'), width=76, initial_indent=' ',
                             subsequent_indent=' ')

    lines = [' ' * 33 + 'FINAL REPORT',
             ' EXAMINATION:  CHEST (PA AND LAT)', ' ',
             ' INDICATION:  ___F with ' + (report['indication'] or 'cough').replace('XXXX', '___'),
             ' ', ' TECHNIQUE:  Chest PA and lateral', ' ',
             ' COMPARISON:  ' + (report['comparison'] or 'None.').replace('XXXX', '___'), ' ']
    if kind == 'no-sections':
        lines += [' Portable AP chest radiograph compared to ___.', ' ',
                  block(report['impression']), '']
        return '\n'.join(lines)
    if kind == 'full':
        lines += [' FINDINGS: ', ' ', block(report['findings']), ' ']
    lines += [' IMPRESSION: ', ' ', block(report['impression']), '']
    return '\n'.join(lines)


def write_gz_csv(path, header, rows):
    with gzip.open(path, 'wt', encoding='utf-8', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)



def build_mimic_layout(root: Path, shared_data: Path) -> dict:
    """Write the layout of :data:`STUDIES` under ``root``.

    Returns:
        dict: ``root``, ``jpg_root``, ``reports_root``, ``expected`` (the (subject, study,
        dicom, split, view) a converter should keep, sorted) and ``openi`` (report texts).
    """
    covid_pngs = sorted((shared_data / 'covid-cxr' / 'images').glob('*.png'))
    jpg_root, reports_root = root / 'mimic-cxr-jpg', root / 'mimic-cxr-reports'
    with open(shared_data / 'openi' / 'openi_reports.jsonl', encoding='utf-8') as f:
        openi = [json.loads(line) for line in f]
    openi = [r for r in openi if r['findings'] and r['impression'] and r['indication']]
    split_rows, meta_rows, label_rows, expected = [], [], [], []
    pngs = iter(covid_pngs)
    for n, (subject, study, split, images, kind) in enumerate(STUDIES):
        study_dir = f'files/p{subject[:2]}/p{subject}/s{study}'
        if kind != 'missing':
            path = reports_root / f'{study_dir}.txt'
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(mimic_report_text(openi[n], kind), encoding='utf-8')
        for i, (view, image_kind) in enumerate(images):
            dicom = dicom_id(subject, study, i)
            png = next(pngs)
            if image_kind == 'ok':
                dst = jpg_root / study_dir / f'{dicom}.jpg'
                dst.parent.mkdir(parents=True, exist_ok=True)
                Image.open(png).convert('L').save(dst, quality=95)
            split_rows.append([dicom, study, subject, split])
            with Image.open(png) as img:
                width, height = img.size
            meta_rows.append([dicom, subject, study, 'CHEST (PA AND LAT)', view, height, width,
                              '21800506', '213014.531', 'CHEST (PA AND LAT)',
                              'postero-anterior', 'Erect'])
            if kind in ('full', 'impression-only') and image_kind == 'ok' and view in ('PA', 'AP'):
                expected.append((subject, study, dicom, split, view))
        labels = ['1.0', '-1.0', '', '0.0'] + [''] * 10 if n % 2 == 0 else \
            [''] * 8 + ['1.0'] + [''] * 5
        label_rows.append([subject, study] + labels)
    write_gz_csv(jpg_root / 'mimic-cxr-2.0.0-split.csv.gz',
                 ['dicom_id', 'study_id', 'subject_id', 'split'], split_rows)
    write_gz_csv(jpg_root / 'mimic-cxr-2.0.0-metadata.csv.gz', METADATA_COLUMNS, meta_rows)
    write_gz_csv(jpg_root / 'mimic-cxr-2.0.0-chexpert.csv.gz',
                 ['subject_id', 'study_id'] + CHEXPERT, label_rows)
    expected.sort(key=lambda e: (int(e[0]), int(e[1]), e[2]))
    return dict(root=root, jpg_root=jpg_root, reports_root=reports_root, expected=expected,
                openi=openi)
