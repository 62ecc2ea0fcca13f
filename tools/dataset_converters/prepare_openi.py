# Copyright (c) medvlp contributors. All rights reserved.
"""Convert the IU X-ray / OpenI reports into a medvlp annotation file.

The source is any of:

* ``NLMCXR_reports.tgz``, the original OpenI archive of ``ecgen-radiology/<n>.xml`` files
  (read directly, no need to extract it);
* a folder holding the extracted XML files (searched recursively);
* ``openi_reports.jsonl``, one tidy JSON object per report (``uid``, ``images``,
  ``comparison``, ``indication``, ``findings``, ``impression``, ``mesh_major``,
  ``mesh_automatic``).

One record is written per linked image (a report links one to several image IDs, such as
``CXR1_1_IM-0001-3001``). Splits are drawn per report, so the images of one study never
end up in two splits, from a seeded shuffle of all report uids in the source: the same
seed gives the same split whatever other options are used. Reports are skipped (and
counted) when they link no image or, by default, have neither FINDINGS nor IMPRESSION.
Unreadable inputs (a malformed, empty or header-only XML file, a bad JSONL line, a bad
row of the labels csv) are skipped, counted and named in the summary; ``--strict`` stops
at the first one instead. The output location is checked before any work.

Example::

    python tools/dataset_converters/prepare_openi.py \\
        data/openi/NLMCXR_reports.tgz data/openi/annotations/openi.json \\
        --labels data/openi/openi_gld_std14.csv \\
        --view-csv data/openi/nlmcxr_tsne_pa.csv.gz \\
        --images data/openi/NLMCXR_png
"""
import argparse
import csv
import gzip
import json
import os
import os.path as osp
import random
import re
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.conversion import (BadInputs, ConversionError,  # noqa: E402
                                        check_output_file)
from medvlp.utils.cli import report_user_errors  # noqa: E402

CONVERTER_VERSION = '1.0'
#: Report sections in the order OpenI writes them.
SECTION_ORDER = ('comparison', 'indication', 'findings', 'impression')
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.dcm')
SPLIT_NAMES = ('train', 'validate', 'test')


def collapse(text: Optional[str]) -> Optional[str]:
    """Collapse whitespace; empty text becomes None."""
    if text is None:
        return None
    text = ' '.join(text.split())
    return text or None


def parse_xml(content: bytes, name: str) -> dict:
    """Parse one OpenI XML report into the tidy report dict."""
    root = ET.fromstring(content)
    uid = root.find('uId')
    report = dict(uid=uid.get('id') if uid is not None else None, file=osp.basename(name))
    for section in SECTION_ORDER:
        report[section] = None
    for node in root.iter('AbstractText'):
        label = (node.get('Label') or '').strip().lower()
        if label in SECTION_ORDER:
            report[label] = collapse(''.join(node.itertext()))
    mesh = root.find('MeSH')
    report['mesh_major'] = [collapse(n.text) for n in mesh.findall('major')
                            if collapse(n.text)] if mesh is not None else []
    report['mesh_automatic'] = [collapse(n.text) for n in mesh.findall('automatic')
                                if collapse(n.text)] if mesh is not None else []
    report['images'] = [n.get('id') for n in root.findall('parentImage') if n.get('id')]
    if not report['uid']:
        report['uid'] = 'CXR' + osp.splitext(report['file'])[0]
    return report


def _parse_or_skip(content: bytes, name: str, bad: BadInputs) -> Optional[dict]:
    """``parse_xml``, or None (recorded in ``bad``) for an empty or malformed file."""
    if not content.strip():
        bad.add(name, 'empty XML file')
        return None
    try:
        return parse_xml(content, name)
    except ET.ParseError as e:
        bad.add(name, f'malformed XML ({e})')
        return None


def iter_reports(src: str, bad: Optional[BadInputs] = None) -> Iterator[dict]:
    """Yield tidy report dicts from a .tgz archive, a folder of XMLs or a .jsonl file;
    unreadable files and lines are recorded in ``bad`` (or raise, when it is strict)."""
    bad = bad if bad is not None else BadInputs(strict=True)
    if osp.isdir(src):
        paths = []
        for folder, _, files in os.walk(src):
            paths += [osp.join(folder, f) for f in files if f.endswith('.xml')]
        if not paths:
            raise ConversionError(f'no .xml reports under {src}')
        for path in sorted(paths):
            with open(path, 'rb') as f:
                report = _parse_or_skip(f.read(), path, bad)
            if report is not None:
                yield report
    elif src.endswith(('.tgz', '.tar.gz', '.tar')):
        try:
            archive = tarfile.open(src)
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ConversionError(f'{src} is not a readable tar archive ({e})') from e
        with archive:
            for member in archive:
                if member.isfile() and member.name.endswith('.xml'):
                    report = _parse_or_skip(archive.extractfile(member).read(),
                                            f'{src}:{member.name}', bad)
                    if report is not None:
                        yield report
    elif src.endswith('.jsonl'):
        with open(src, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    report = json.loads(line)
                except json.JSONDecodeError as e:
                    bad.add(f'{src}, line {line_no}', f'not valid JSON ({e})')
                    continue
                if not isinstance(report, dict) or not report.get('uid'):
                    bad.add(f'{src}, line {line_no}', 'not a report object with a "uid"')
                    continue
                yield report
    else:
        raise ConversionError(f'{src} is not a .tgz archive, a folder of XML reports or a '
                              '.jsonl file')


def report_number(uid: str) -> Tuple[int, str]:
    """Sort key: ``CXR12`` -> ``(12, 'CXR12')``."""
    digits = re.sub(r'\D', '', uid)
    return (int(digits) if digits else -1, uid)


def report_sections(report: dict) -> Dict[str, str]:
    """The report's non-empty sections, in OpenI order, for ``process_sections``."""
    return {name: report[name] for name in SECTION_ORDER if report.get(name)}


def assign_splits(uids: Sequence[str], ratios: Sequence[float], seed: int) -> Dict[str, str]:
    """Seeded shuffle of the sorted uids, cut by ``ratios`` into train/validate/test."""
    order = sorted(uids, key=report_number)
    random.Random(seed).shuffle(order)
    total = sum(ratios)
    n_train = round(len(order) * ratios[0] / total)
    n_val = round(len(order) * ratios[1] / total)
    splits = {}
    for i, uid in enumerate(order):
        splits[uid] = 'train' if i < n_train else 'validate' if i < n_train + n_val \
            else 'test'
    return splits


def read_labels(path: Optional[str],
                bad: Optional[BadInputs] = None) -> Tuple[List[str], Dict[str, Dict[str, int]]]:
    """NegBio gold labels: ``(class names, {uid: {name: 0/1}})``; malformed rows are
    recorded in ``bad`` by file and row (or raise, when it is strict)."""
    if not path:
        return [], {}
    from medvlp.datasets.record_fields import parse_label
    bad = bad if bad is not None else BadInputs(strict=True)
    with open(path, encoding='utf-8-sig', newline='') as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or len(reader.fieldnames) < 2:
            raise ConversionError(f'labels file {path} is empty or has no label columns '
                                  f'(header: {reader.fieldnames})')
        key = reader.fieldnames[0]
        classes = [c for c in reader.fieldnames if c != key]
        labels = {}
        for row_no, row in enumerate(reader, 2):  # row 1 is the header
            try:
                values = {c: parse_label(row[c]) for c in classes}
            except (ValueError, AttributeError) as e:
                bad.add(f'{path}, row {row_no}', f'bad label value ({e})')
                continue
            labels[row[key]] = {c: v for c, v in values.items() if v is not None}
    return classes, labels


def read_views(path: Optional[str]) -> Dict[str, str]:
    """Image id -> view from a csv ``imageid,<view column>`` (``nlmcxr_tsne_pa.csv.gz``)."""
    if not path:
        return {}
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8', newline='') as f:
        reader = csv.reader(f)
        next(reader)
        views = {}
        for row in reader:
            if len(row) >= 2 and row[1].strip():
                view = row[1].strip().upper()
                views[row[0]] = 'LATERAL' if view in ('L', 'LL', 'LAT') else view
    return views


def find_image(images_dir: str, image_id: str) -> Optional[str]:
    """The file name of an image id under ``images_dir``, or None."""
    for suffix in IMAGE_SUFFIXES:
        if osp.isfile(osp.join(images_dir, image_id + suffix)):
            return image_id + suffix
    return None


_PROCESSOR = None


def _init_worker() -> None:
    global _PROCESSOR
    from medvlp.text import ReportProcessor
    _PROCESSOR = ReportProcessor()


def _process(sections: Dict[str, str]) -> Optional[dict]:
    from medvlp.text import EmptyReportError
    try:
        return _PROCESSOR.process_sections(sections)
    except EmptyReportError:
        return None


def process_texts(texts: List[Dict[str, str]], workers: int) -> List[Optional[dict]]:
    """Run ``ReportProcessor.process_sections`` over ``texts`` (in order), with progress."""
    from tqdm import tqdm
    progress = dict(total=len(texts), desc='processing reports', unit='report',
                    disable=None)
    if workers <= 1:
        _init_worker()
        return [_process(t) for t in tqdm(texts, **progress)]
    import multiprocessing
    with multiprocessing.get_context('fork').Pool(workers, _init_worker) as pool:
        return list(tqdm(pool.imap(_process, texts, chunksize=32), **progress))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert OpenI / IU X-ray reports into a medvlp annotation file.')
    parser.add_argument('src', help='NLMCXR_reports.tgz, a folder of its XML files, or '
                        'openi_reports.jsonl')
    parser.add_argument('out', help='output annotation file, e.g. data/openi/openi.json')
    parser.add_argument('--images', help='folder of the OpenI images (<image id>.png, '
                        'e.g. the extracted NLMCXR_png.tgz); when given, records of '
                        'images that are not there are skipped and counted. Without it '
                        'images are not verified.')
    parser.add_argument('--labels', help='NegBio gold labels csv (openi_gld_std14.csv), '
                        'joined by report uid into each record\'s "labels"')
    parser.add_argument('--view-csv', help='csv of image id -> view guess '
                        '(nlmcxr_tsne_pa.csv.gz); PA/L become "view" PA/LATERAL')
    parser.add_argument('--split-ratios', type=float, nargs=3, default=(0.7, 0.1, 0.2),
                        metavar=('TRAIN', 'VAL', 'TEST'),
                        help='train/validate/test proportions of reports (default: 0.7 '
                        '0.1 0.2, the usual IU X-ray report-generation split)')
    parser.add_argument('--seed', type=int, default=0, help='split seed (default: 0)')
    parser.add_argument('--require-sections', nargs='+', default=['findings', 'impression'],
                        help='keep a report only if it has at least one of these sections '
                        '(default: findings impression); "none" keeps every report')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes for report processing (default: 1)')
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first unreadable input instead of skipping and '
                        'counting it')
    args = parser.parse_args(argv)
    if any(r < 0 for r in args.split_ratios) or sum(args.split_ratios) <= 0:
        parser.error('--split-ratios must be non-negative with a positive sum')
    required = [s.lower() for s in args.require_sections]
    if required == ['none']:
        required = []
    unknown = sorted(set(required) - set(SECTION_ORDER))
    if unknown:
        parser.error(f'--require-sections: unknown sections {unknown}; choose from '
                     f'{list(SECTION_ORDER)} or "none"')
    args.require_sections = required
    if args.images and not osp.isdir(args.images):
        parser.error(f'--images: {args.images} is not a folder')
    for option in ('labels', 'view_csv'):
        path = getattr(args, option)
        if path and not osp.isfile(path):
            parser.error(f'--{option.replace("_", "-")}: {path} does not exist')
    if not osp.exists(args.src):
        parser.error(f'{args.src} does not exist')
    return args


def main(argv=None) -> dict:
    """Run the conversion; returns the metainfo written. Bad inputs and outputs end in a
    one-line error naming the file (and row), exit status 2."""
    args = parse_args(argv)
    with report_user_errors(osp.basename(__file__)):
        return convert(args)


def convert(args) -> dict:
    """The conversion of :func:`main`."""
    from medvlp.datasets import dump_annotation_file

    check_output_file(args.out)
    bad = BadInputs(strict=args.strict)
    reports = sorted(iter_reports(args.src, bad), key=lambda r: report_number(r['uid']))
    if not reports:
        raise ConversionError(f'no readable report in {args.src}')
    classes, gold = read_labels(args.labels, bad)
    views = read_views(args.view_csv)
    splits = assign_splits([r['uid'] for r in reports], args.split_ratios, args.seed)

    skipped_reports, skipped_images = Counter(), Counter()
    no_sections = 'no ' + ' or '.join(args.require_sections)
    candidates = []  # (report, [(image id, file name)])
    for report in reports:
        images = report.get('images') or []
        if not images:
            skipped_reports['no image'] += 1
            continue
        if args.require_sections and not any(report.get(s) for s in args.require_sections):
            skipped_reports[no_sections] += 1
            skipped_images[no_sections] += len(images)
            continue
        files = [(image_id, image_id + '.png') for image_id in images]
        if args.images:
            files = [(image_id, find_image(args.images, image_id)) for image_id in images]
            skipped_images['missing image'] += sum(1 for _, name in files if name is None)
            files = [(image_id, name) for image_id, name in files if name is not None]
            if not files:
                skipped_reports['no image file found'] += 1
                continue
        candidates.append((report, files))

    fields_list = process_texts([report_sections(r) for r, _ in candidates], args.workers)
    records, kept_reports = [], 0
    for (report, files), fields in zip(candidates, fields_list):
        if fields is None:
            skipped_reports['empty report'] += 1
            skipped_images['empty report'] += len(files)
            continue
        kept_reports += 1
        for image_id, file_name in files:
            record = dict(
                img_path=file_name,
                image_id=image_id,
                subject_id=report['uid'],
                study_id=report['uid'],
                split=splits[report['uid']],
                view=views.get(image_id),
                labels=gold.get(report['uid'], {}),
                openi_mesh=dict(major=list(report.get('mesh_major') or []),
                                automatic=list(report.get('mesh_automatic') or [])),
            )
            record.update(fields)
            records.append(record)

    split_counts = Counter(r['split'] for r in records)
    metainfo = dict(
        dataset_name='OpenI',
        classes=classes,
        converter='tools/dataset_converters/prepare_openi.py',
        converter_version=CONVERTER_VERSION,
        source=osp.basename(osp.normpath(args.src)),
        images_verified=bool(args.images),
        view_source=('heuristic guess from ' + osp.basename(args.view_csv))
        if args.view_csv else None,
        split_seed=args.seed,
        split_ratios=list(args.split_ratios),
        require_sections=args.require_sections,
        counts=dict(
            reports=len(reports),
            kept_reports=kept_reports,
            kept_records=len(records),
            linked_images=sum(len(r.get('images') or []) for r in reports),
            reports_with_labels=sum(1 for r in reports if r['uid'] in gold),
            splits={s: split_counts.get(s, 0) for s in SPLIT_NAMES},
            skipped_reports=dict(sorted(skipped_reports.items())),
            skipped_images=dict(sorted(skipped_images.items())),
            bad_inputs=bad.as_dict(),
        ),
    )
    dump_annotation_file(args.out, metainfo, records)
    print_summary(args, metainfo, bad)
    return metainfo


def print_summary(args, metainfo: dict, bad: Optional[BadInputs] = None) -> None:
    counts = metainfo['counts']
    print(f'wrote {args.out}')
    print(f'  reports: {counts["reports"]} read, {counts["kept_reports"]} kept')
    for reason, n in counts['skipped_reports'].items():
        print(f'    skipped {n:5d} reports: {reason}')
    print(f'  records (one per image): {counts["kept_records"]} '
          f'(train {counts["splits"]["train"]}, validate {counts["splits"]["validate"]}, '
          f'test {counts["splits"]["test"]})')
    for reason, n in counts['skipped_images'].items():
        print(f'    skipped {n:5d} images: {reason}')
    if not metainfo['images_verified']:
        print('  images were NOT verified (no --images): img_path is "<image id>.png"; '
              'ImageReportDataset skips and counts missing files when loading')
    if not metainfo['classes']:
        print('  no --labels given: records carry no NegBio labels')
    if bad is not None and len(bad):
        print(f'  {len(bad)} unreadable inputs skipped (--strict stops at the first):')
        print('\n'.join(bad.summary_lines()))


if __name__ == '__main__':
    main()
