# Copyright (c) medvlp contributors. All rights reserved.
"""Build the embedded demo set (``demo/cxr``) from the COVID-19 image data collection.

The demo keeps one frontal chest X-ray per patient whose image licence allows redistributing
adapted copies (CC BY, CC BY-SA, CC BY-NC-SA; not ND, not unstated) and whose clinical notes
are not empty. Images are downsized so their longer side is ``--max-side`` pixels and stored as
8-bit greyscale PNGs. The script writes:

* ``images/<filename>.png``
* ``CREDITS.csv``: source, DOI/URL and licence of every image
* ``annotations.jsonl``: one medvlp record per image (see docs/en/user_guides/record_format.md)

Example::

    python tools/dataset_converters/prepare_demo_data.py ../shared/data/covid-cxr demo/cxr
"""
import argparse
import csv
import json
import os
import os.path as osp

from PIL import Image

from medvlp.text import ReportProcessor

#: Licences that allow redistribution of adapted copies (normalised: upper case, no version).
REDISTRIBUTABLE = {'CC BY', 'CC BY-SA', 'CC BY-NC-SA'}
FRONTAL_VIEWS = {'PA', 'AP', 'AP Supine', 'AP Erect'}


def normalise_licence(value: str) -> str:
    """``'CC BY-NC-SA 4.0'`` -> ``'CC BY-NC-SA'``; empty for unstated licences."""
    parts = value.strip().upper().split()
    if parts and parts[-1][0].isdigit():
        parts = parts[:-1]
    return ' '.join(parts)


def select_rows(rows: list) -> tuple:
    """Pick one redistributable frontal image with notes per patient.

    Returns:
        tuple: the kept rows and a dict counting why the others were skipped.
    """
    skipped = {'licence not redistributable': 0, 'not frontal': 0, 'empty notes': 0,
               'patient already has an image': 0}
    kept, seen_patients = [], set()
    for row in sorted(rows, key=lambda r: r['filename']):
        if normalise_licence(row['license']) not in REDISTRIBUTABLE:
            skipped['licence not redistributable'] += 1
        elif row['view'] not in FRONTAL_VIEWS:
            skipped['not frontal'] += 1
        elif not row['clinical_notes'].strip():
            skipped['empty notes'] += 1
        elif row['patientid'] in seen_patients:
            skipped['patient already has an image'] += 1
        else:
            seen_patients.add(row['patientid'])
            kept.append(row)
    return kept, skipped


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='the covid-cxr folder (metadata.csv and images/)')
    parser.add_argument('out', help='output folder, e.g. demo/cxr')
    parser.add_argument('--max-side', type=int, default=256,
                        help='longer image side after resizing (default: 256)')
    args = parser.parse_args(argv)

    meta_path = osp.join(args.src, 'metadata.csv')
    if not osp.isfile(meta_path):
        parser.error(f'{meta_path} does not exist')
    with open(meta_path, encoding='utf-8', newline='') as f:
        rows = list(csv.DictReader(f))
    kept, skipped = select_rows(rows)

    processor = ReportProcessor()
    os.makedirs(osp.join(args.out, 'images'), exist_ok=True)
    records = []
    for row in kept:
        img = Image.open(osp.join(args.src, 'images', row['filename'])).convert('L')
        scale = args.max_side / max(img.size)
        if scale < 1:
            size = (round(img.width * scale), round(img.height * scale))
            img = img.resize(size, Image.Resampling.LANCZOS)
        # The source PNGs carry RGB ICC profiles that are invalid on greyscale images.
        img.save(osp.join(args.out, 'images', row['filename']), optimize=True, icc_profile=None)
        record = dict(
            img_path=f"images/{row['filename']}",
            subject_id=row['patientid'],
            study_id=osp.splitext(row['filename'])[0],
            view=row['view'],
            finding=row['finding'],
            labels={'COVID-19': int('COVID-19' in row['finding'])},
        )
        record.update(processor.process_report(row['clinical_notes'], source='note'))
        records.append(record)

    with open(osp.join(args.out, 'annotations.jsonl'), 'w', encoding='utf-8') as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + '\n')
    with open(osp.join(args.out, 'CREDITS.csv'), 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['filename', 'patientid', 'license', 'doi', 'url'])
        for row in kept:
            writer.writerow([row['filename'], row['patientid'], row['license'].strip(),
                             row['doi'], row['url']])

    print(f'kept {len(kept)} of {len(rows)} images')
    for reason, count in skipped.items():
        print(f'  skipped {count:4d}: {reason}')


if __name__ == '__main__':
    main()
