# Copyright (c) medvlp contributors. All rights reserved.
"""Convert MIMIC-CXR-JPG 2.x and the MIMIC-CXR reports into a medvlp annotation file.

Expected layout (the official PhysioNet downloads)::

    <jpg-root>/                                   MIMIC-CXR-JPG 2.x
        mimic-cxr-2.0.0-split.csv.gz              dicom_id, study_id, subject_id, split
        mimic-cxr-2.0.0-metadata.csv.gz           ... ViewPosition ...
        mimic-cxr-2.0.0-chexpert.csv.gz           subject_id, study_id, 14 observations
        files/p10/p10000032/s50414267/<dicom_id>.jpg
    <reports-root>/                               mimic-cxr-reports.zip, extracted
        files/p10/p10000032/s50414267.txt         (defaults to <jpg-root>)

One record is written per kept image, with the study's report processed once by
``medvlp.text.ReportProcessor`` and cached. Images are kept when their view is one of
``--views`` (PA and AP by default), their study has a report file with at least one of
``--require-sections`` (FINDINGS or IMPRESSION by default) and the image file exists;
everything else is skipped and counted in the summary and in the file's metainfo. Splits
are MIMIC's official ones and CheXpert labels are kept as 1 / 0 / -1 (blank cells are left
out). The output is deterministic: records are sorted by subject, study and dicom id.

``--resize N`` writes a copy of every kept image whose shorter side is N pixels (never
upscaled, aspect ratio kept, greyscale) under ``--resized-root`` with the same relative
path (but the suffix), and checks images there. ``--resized-format`` chooses how the
copies are stored: ``jpeg`` (the default, quality 95) or ``pgm`` (binary greymap:
lossless, nearly four times the bytes, and read without decoding, which cuts a loader
worker's CPU per sample by about 45 % at 256 px, ``docs/en/input_pipeline.md``; the
files are then ``<dicom_id>.pgm``). Full-size MIMIC JPEGs (about 2500 x 3000)
decode at roughly 20 images/s per core, too slow to feed a GPU; 512-pixel copies decode
more than ten times faster and still allow any crop of up to 512 pixels without
upsampling. The shorter side is the one fixed because training crops are square. For the
224-pixel pre-training configs (``configs/_base_/datasets/mimic_cxr_report.py``: crops of
60-100% of the image area resized to 224) ``--resize 256`` is enough and decodes about
four times faster again (``docs/en/input_pipeline.md`` has the loader's figures).

Example::

    python tools/dataset_converters/prepare_mimic_cxr.py \\
        data/mimic-cxr-jpg data/mimic-cxr/annotations/mimic_cxr.json \\
        --reports-root data/mimic-cxr-reports --workers 8 \\
        --resize 512 --resized-root data/mimic-cxr-jpg-512
"""
import argparse
import csv
import gzip
import os
import os.path as osp
import sys
from collections import Counter, defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.conversion import (RESIZED_FORMATS, BadInputs,  # noqa: E402
                                        ConversionError, check_output_file,
                                        resized_suffix, save_grey_image)
from medvlp.utils.cli import report_user_errors  # noqa: E402

CONVERTER_VERSION = '1.0'
SPLIT_FILE = 'mimic-cxr-2.0.0-split.csv'
METADATA_FILE = 'mimic-cxr-2.0.0-metadata.csv'
LABEL_FILES = dict(chexpert='mimic-cxr-2.0.0-chexpert.csv', negbio='mimic-cxr-2.0.0-negbio.csv')
SPLIT_NAMES = ('train', 'validate', 'test')


def open_table(root: str, name: str, columns: Sequence[str] = ()) -> List[dict]:
    """Read ``<root>/<name>.gz`` (or the uncompressed ``<name>``) as a list of dicts.

    Each row gets its file and row number under ``'_where'`` for error messages.

    Raises:
        ConversionError: If the file is missing, empty, not a readable (gzipped) csv or
            lacks one of ``columns``.
    """
    for path in (osp.join(root, name + '.gz'), osp.join(root, name)):
        if not osp.isfile(path):
            continue
        if osp.getsize(path) == 0:
            raise ConversionError(f'{path} is empty (0 bytes)')
        opener = gzip.open if path.endswith('.gz') else open
        try:
            with opener(path, 'rt', encoding='utf-8-sig', newline='') as f:
                reader = csv.DictReader(f)
                rows = list(reader)
                header = reader.fieldnames or []
        except (OSError, EOFError, UnicodeDecodeError, csv.Error) as e:
            raise ConversionError(f'{path} is not a readable csv table ({e})') from e
        missing = [c for c in columns if c not in header]
        if missing:
            raise ConversionError(f'{path} lacks the columns {missing}; its header is '
                                  f'{header}')
        for row_no, row in enumerate(rows, 2):  # row 1 is the header
            row['_where'] = f'{path}, row {row_no}'
        return rows
    raise ConversionError(f'{osp.join(root, name)}.gz not found; is {root} the '
                          'MIMIC-CXR-JPG root?')


def valid_ids(row: dict, bad: BadInputs, keys: Sequence[str] = ('subject_id',
                                                               'study_id')) -> bool:
    """Whether ``row``'s ids are numbers (and its ``dicom_id`` non-empty); records a bad
    row in ``bad`` otherwise."""
    wrong = [k for k in keys if not str(row.get(k) or '').strip().isdigit()]
    if 'dicom_id' in row and not str(row.get('dicom_id') or '').strip():
        wrong.append('dicom_id')
    if wrong:
        bad.add(row['_where'], 'malformed ' + ', '.join(
            f'{k}={row.get(k)!r}' for k in wrong))
        return False
    return True


def study_dir(subject_id: str, study_id: str) -> str:
    """``files/p10/p10000032/s50414267`` (relative, '/'-separated)."""
    return f'files/p{subject_id[:2]}/p{subject_id}/s{study_id}'


def shorter_side_size(width: int, height: int, target: int) -> Tuple[int, int]:
    """Size with the shorter side ``target`` (aspect kept); unchanged if already smaller."""
    short = min(width, height)
    if short <= target:
        return width, height
    scale = target / short
    return max(1, round(width * scale)), max(1, round(height * scale))


def resize_image(src: str, dst: str, target: int, fmt: str = 'jpeg') -> str:
    """Write a greyscale copy of ``src`` with shorter side ``target`` to ``dst``, in the
    :data:`~medvlp.datasets.conversion.RESIZED_FORMATS` format ``fmt``.

    Uses Pillow's JPEG draft mode (DCT scaling) so the decoder itself skips most of the
    full-size pixels, then an antialiased bicubic resize.

    Returns:
        str: ``'resized'``, or ``'corrupt image'`` when ``src`` cannot be decoded.
    """
    from PIL import Image
    try:
        with Image.open(src) as img:
            size = shorter_side_size(img.width, img.height, target)
            img.draft('L', size)
            img = img.convert('L')
        if img.size != size:
            img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)
    except (OSError, SyntaxError, ValueError):
        return 'corrupt image'
    save_grey_image(img, dst, fmt)  # never leaves a half-written file under dst
    return 'resized'


# ---------------------------------------------------------------- worker functions
_PROCESSOR = None
_OPTIONS: dict = {}


def _init_worker(options: dict) -> None:
    global _OPTIONS
    _OPTIONS = options


def _processor():
    """The worker's ReportProcessor, built on first use."""
    global _PROCESSOR
    if _PROCESSOR is None:
        from medvlp.text import ReportProcessor
        _PROCESSOR = ReportProcessor()
    return _PROCESSOR


def _process_study(report_path: str) -> Tuple[str, Optional[dict]]:
    """Read and process one report: ``(status, fields)``; status 'ok' or a skip reason."""
    from medvlp.text import EmptyReportError, extract_sections
    if not osp.isfile(report_path):
        return 'missing report', None
    with open(report_path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    required = _OPTIONS['require_sections']
    if required:
        sections = extract_sections(text)
        if not any((sections.get(name) or '').strip() for name in required):
            return 'no ' + ' or '.join(required), None
    try:
        return 'ok', _processor().process_report(text, source='report')
    except EmptyReportError:
        return 'empty report', None


def _check_image(task: Tuple[str, Optional[str]]) -> str:
    """Check (and with a resize target, resize) one image: status 'ok' or a reason."""
    src, dst = task
    target = _OPTIONS['resize']
    if target and dst and osp.isfile(dst) and not _OPTIONS['overwrite']:
        return 'ok'
    if not osp.isfile(src):
        return 'missing image'
    if target:
        status = resize_image(src, dst, target, _OPTIONS['resized_format'])
        return 'ok' if status == 'resized' else status
    return 'ok'


def run_tasks(func, tasks: Sequence, options: dict, workers: int, desc: str) -> List:
    """Map ``func`` over ``tasks`` in order, in ``workers`` processes, with progress."""
    from tqdm import tqdm
    progress = dict(total=len(tasks), desc=desc, disable=None)
    if workers <= 1 or len(tasks) < 2:
        _init_worker(options)
        return [func(t) for t in tqdm(tasks, **progress)]
    import multiprocessing
    chunksize = max(1, min(64, len(tasks) // (workers * 8)))
    with multiprocessing.get_context('fork').Pool(workers, _init_worker,
                                                  (options, )) as pool:
        return list(tqdm(pool.imap(func, tasks, chunksize=chunksize), **progress))


# ---------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert MIMIC-CXR-JPG + reports into a medvlp annotation file.')
    parser.add_argument('jpg_root', help='MIMIC-CXR-JPG root (the csv.gz files and files/)')
    parser.add_argument('out', help='output annotation file, e.g. data/mimic_cxr.json')
    parser.add_argument('--reports-root', help='root of the extracted mimic-cxr-reports '
                        '(files/pXX/pXXXXXXXX/sXXXXXXXX.txt); default: jpg_root')
    parser.add_argument('--views', nargs='+', default=['PA', 'AP'],
                        help='ViewPosition values to keep (default: PA AP); "all" keeps '
                        'every view, including images without a ViewPosition')
    parser.add_argument('--splits', nargs='+', default=list(SPLIT_NAMES),
                        choices=SPLIT_NAMES, help='official splits to keep (default: all)')
    parser.add_argument('--require-sections', nargs='+', default=['findings', 'impression'],
                        help='keep a study only if its report has at least one of these '
                        'sections (default: findings impression); "none" keeps any '
                        'non-empty report (then processed as a whole)')
    parser.add_argument('--labeler', choices=sorted(LABEL_FILES), default='chexpert',
                        help='label file to join (default: chexpert)')
    parser.add_argument('--resize', type=int, metavar='N',
                        help='write copies with shorter side N (256 for the 224 px '
                        'pre-training configs, 512 for larger crops) to '
                        '--resized-root and check images there')
    parser.add_argument('--resized-root', help='output root of --resize')
    parser.add_argument('--resized-format', choices=sorted(RESIZED_FORMATS),
                        help='how --resize stores the copies: jpeg (quality 95, default) '
                        'or pgm (lossless binary greymap, ~4x the bytes, read without '
                        'decoding)')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-create resized images that already exist')
    parser.add_argument('--workers', type=int, default=1,
                        help='processes for reports and images (default: 1)')
    parser.add_argument('--strict', action='store_true',
                        help='stop at the first malformed table row instead of skipping '
                        'and counting it')
    args = parser.parse_args(argv)
    if not osp.isdir(args.jpg_root):
        parser.error(f'{args.jpg_root} is not a folder')
    args.reports_root = args.reports_root or args.jpg_root
    if not osp.isdir(args.reports_root):
        parser.error(f'--reports-root: {args.reports_root} is not a folder')
    if bool(args.resize) != bool(args.resized_root):
        parser.error('--resize and --resized-root go together')
    if args.resized_format and not args.resize:
        parser.error('--resized-format needs --resize')
    args.resized_format = args.resized_format or 'jpeg'
    if args.resize is not None and args.resize < 16:
        parser.error('--resize must be at least 16 pixels')
    if args.resized_root and osp.abspath(args.resized_root) == osp.abspath(args.jpg_root):
        parser.error('--resized-root must differ from jpg_root (originals would be '
                     'overwritten)')
    args.views = None if [v.lower() for v in args.views] == ['all'] else \
        [' '.join(v.upper().split()) for v in args.views]
    required = [s.lower() for s in args.require_sections]
    args.require_sections = [] if required == ['none'] else required
    return args


def load_tables(args, bad: Optional[BadInputs] = None
                ) -> Tuple[List[dict], Dict[str, str], Dict[Tuple[str, str], dict], List[str]]:
    """Split rows, dicom -> view, (subject, study) -> labels, and the label names.

    Rows with malformed ids or label values are recorded in ``bad`` and left out.
    """
    bad = bad if bad is not None else BadInputs(strict=True)
    split_rows = [row for row in open_table(args.jpg_root, SPLIT_FILE,
                                            ('dicom_id', 'study_id', 'subject_id', 'split'))
                  if valid_ids(row, bad)]
    views = {row['dicom_id']: ' '.join((row.get('ViewPosition') or '').upper().split())
             for row in open_table(args.jpg_root, METADATA_FILE, ('dicom_id', ))}
    label_rows = open_table(args.jpg_root, LABEL_FILES[args.labeler],
                            ('subject_id', 'study_id'))
    classes = [c for c in (label_rows[0].keys() if label_rows else [])
               if c not in ('subject_id', 'study_id', '_where')]
    from medvlp.datasets.record_fields import parse_label
    labels = {}
    for row in label_rows:
        if not valid_ids(row, bad):
            continue
        try:
            values = {c: parse_label(row[c]) for c in classes}
        except ValueError as e:
            bad.add(row['_where'], f'bad label value ({e})')
            continue
        labels[(row['subject_id'], row['study_id'])] = {
            c: v for c, v in values.items() if v is not None}
    return split_rows, views, labels, classes


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
    split_rows, views, labels, classes = load_tables(args, bad)
    skipped = Counter()  # images
    skipped_studies = Counter()

    # 1. images of the wanted splits and views, grouped by study
    studies: Dict[Tuple[str, str], List[dict]] = defaultdict(list)
    for row in split_rows:
        if row['split'] not in args.splits:
            skipped['other split'] += 1
            continue
        view = views.get(row['dicom_id'], '')
        if args.views is not None and view not in args.views:
            skipped['other view' if view else 'no ViewPosition'] += 1
            continue
        studies[(row['subject_id'], row['study_id'])].append(
            dict(dicom_id=row['dicom_id'], split=row['split'], view=view or None))
    study_keys = sorted(studies, key=lambda k: (int(k[0]), int(k[1])))

    options = dict(require_sections=args.require_sections, resize=args.resize,
                   resized_format=args.resized_format, overwrite=args.overwrite)
    # 2. reports, once per study
    report_paths = [osp.join(args.reports_root, study_dir(*key) + '.txt') for key in study_keys]
    results = run_tasks(_process_study, report_paths, options, args.workers,
                        'processing reports')
    kept_studies = {}
    for key, (status, fields) in zip(study_keys, results):
        if status == 'ok':
            kept_studies[key] = fields
        else:
            skipped_studies[status] += 1
            skipped[status] += len(studies[key])

    # 3. images of kept studies: exist (and resize)
    image_items = []
    for key in study_keys:
        if key not in kept_studies:
            continue
        for image in sorted(studies[key], key=lambda i: i['dicom_id']):
            rel = f'{study_dir(*key)}/{image["dicom_id"]}'
            src = osp.join(args.jpg_root, rel + '.jpg')
            rel += resized_suffix(args.resized_format) if args.resize else '.jpg'
            dst = osp.join(args.resized_root, rel) if args.resize else None
            image_items.append((key, image, rel, (src, dst)))
    statuses = run_tasks(_check_image, [item[3] for item in image_items], options,
                         args.workers, 'resizing images' if args.resize else 'checking images')

    records = []
    for (key, image, rel, _), status in zip(image_items, statuses):
        if status != 'ok':
            skipped[status] += 1
            continue
        record = dict(
            img_path=rel,
            subject_id=key[0],
            study_id=key[1],
            dicom_id=image['dicom_id'],
            split=image['split'],
            view=image['view'],
            labels=dict(labels.get(key, {})),
        )
        record.update(kept_studies[key])
        records.append(record)

    split_counts = Counter(r['split'] for r in records)
    metainfo = dict(
        dataset_name='MIMIC-CXR',
        classes=classes,
        labeler=args.labeler,
        converter='tools/dataset_converters/prepare_mimic_cxr.py',
        converter_version=CONVERTER_VERSION,
        image_root='resized' if args.resize else 'mimic-cxr-jpg',
        resize_shorter_side=args.resize,
        resized_format=args.resized_format if args.resize else None,
        views=args.views,
        require_sections=args.require_sections,
        counts=dict(
            images=len(split_rows),
            studies=len({(r['subject_id'], r['study_id']) for r in split_rows}),
            kept_records=len(records),
            kept_studies=len({(r['subject_id'], r['study_id']) for r in records}),
            splits={s: split_counts.get(s, 0) for s in SPLIT_NAMES},
            skipped_images=dict(sorted(skipped.items())),
            skipped_studies=dict(sorted(skipped_studies.items())),
            bad_inputs=bad.as_dict(),
        ),
    )
    dump_annotation_file(args.out, metainfo, records)
    print_summary(args, metainfo, bad)
    return metainfo


def print_summary(args, metainfo: dict, bad: Optional[BadInputs] = None) -> None:
    counts = metainfo['counts']
    print(f'wrote {args.out}')
    print(f'  images: {counts["images"]} listed, {counts["kept_records"]} kept '
          f'(train {counts["splits"]["train"]}, validate {counts["splits"]["validate"]}, '
          f'test {counts["splits"]["test"]}) from {counts["kept_studies"]} of '
          f'{counts["studies"]} studies')
    for reason, n in counts['skipped_images'].items():
        print(f'    skipped {n:7d} images: {reason}')
    for reason, n in counts['skipped_studies'].items():
        print(f'    skipped {n:7d} studies: {reason}')
    if bad is not None and len(bad):
        print(f'  {len(bad)} malformed table rows skipped (--strict stops at the first):')
        print('\n'.join(bad.summary_lines()))
    root = args.resized_root if args.resize else args.jpg_root
    print(f'  img_path values are relative to {root}: use '
          f"data_prefix=dict(img_path='{root}')")


if __name__ == '__main__':
    main()
