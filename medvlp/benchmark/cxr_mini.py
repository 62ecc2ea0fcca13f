# Copyright (c) medvlp contributors. All rights reserved.
"""The data of the ``cxr-mini`` CPU experiment: covid-cxr split by patient, written once.

``shared/data/covid-cxr`` holds 380 real X-rays of 233 patients, 366 with clinical notes and
227 with V7 lung masks. :func:`write_cxr_mini` splits the **patients** (stratified by
COVID-19 vs other, seeded) into a development part and a held-out test part and writes,
into one folder:

* ``images/``, ``masks/``: the images (longer side ``max_side`` px, greyscale) and masks
  (nearest-neighbour, 0/255), same names as in covid-cxr;
* ``metadata.csv``: ``filename, patientid, finding, view, part`` (``part``: dev or test);
* ``pretrain.jsonl``: image-note records (medvlp record format) of the dev part, the only
  pre-training data;
* ``retrieval_test.jsonl``: the held-out image-note pairs (image→report retrieval);
* ``cls/train_list.txt``, ``cls/test_list.txt``: COVID-19 vs other (``COVIDCXRDataset``);
* ``seg/train.txt``, ``seg/test.txt``: images with lung pixels (``LungMaskDataset``);
* ``split.json``: the parameters, the patients of each part, the counts and the sha256 of
  every file written.

:func:`check_leakage` re-reads what was written and raises :class:`LeakageError` when a
held-out image or patient appears in a pre-training or downstream-training file.
"""
import csv
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Dict, List, Optional

from medvlp.datasets.classification.label_tables import split_list_lines
from medvlp.datasets.classification.sampling import patient_disjoint_split
from medvlp.utils.cli import UserError

#: Files a written cxr-mini folder holds, besides images/ and masks/.
ANNOTATIONS = {
    'pretrain': 'pretrain.jsonl',
    'retrieval_test': 'retrieval_test.jsonl',
    'cls_train': 'cls/train_list.txt',
    'cls_test': 'cls/test_list.txt',
    'seg_train': 'seg/train.txt',
    'seg_test': 'seg/test.txt',
}
#: The annotation files whose images may be seen while training (pre- or downstream).
TRAINING_FILES = ('pretrain', 'cls_train', 'seg_train')
#: The held-out ones.
TEST_FILES = ('retrieval_test', 'cls_test', 'seg_test')
SPLIT_FILE = 'split.json'
FORMAT_VERSION = 1
METADATA_COLUMNS = ('filename', 'patientid', 'finding', 'view', 'clinical_notes')


class LeakageError(UserError):
    """A held-out image or patient is in a pre-training or downstream-training file."""


def is_covid(finding: str) -> int:
    """COVID-19 vs other, from covid-cxr's ``finding`` column."""
    return int('COVID-19' in finding)


def read_metadata(src: str) -> List[Dict[str, str]]:
    """The rows of ``src/metadata.csv``, columns checked."""
    path = osp.join(src, 'metadata.csv')
    if not osp.isfile(path):
        raise UserError(f'{path} does not exist: give the covid-cxr folder '
                        '(shared/data/covid-cxr)')
    with open(path, encoding='utf-8', newline='') as f:
        reader = csv.DictReader(f)
        missing = [c for c in METADATA_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UserError(f'{path}: missing columns {missing}')
        return list(reader)


def split_patients(rows: List[Dict[str, str]], test_ratio: float,
                   seed: int) -> Dict[str, str]:
    """``{patientid: 'dev' | 'test'}``, stratified by COVID-19 vs other, seeded."""
    samples = [(row['filename'], row['patientid'], [is_covid(row['finding'])])
               for row in rows]
    parts = patient_disjoint_split(samples, val_ratio=0.0, test_ratio=test_ratio,
                                   train_fractions=(100, ), seed=seed)
    test_images = set(parts['test'])
    return {row['patientid']: 'test' if row['filename'] in test_images else 'dev'
            for row in rows}


def _resized(path: str, max_side: int, mask: bool):
    from PIL import Image
    img = Image.open(path)
    img = img.convert('L')
    scale = max_side / max(img.size)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.NEAREST if mask else
                         Image.Resampling.LANCZOS)
    if mask:  # V7 masks have 127-valued edge pixels: binarise like LungMaskDataset does
        img = img.point(lambda v: 255 if v > 127 else 0)
    return img


def _sha256(path: str) -> str:
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def _parameters(src: str, test_ratio: float, seed: int, max_side: int) -> dict:
    return dict(format=FORMAT_VERSION, test_ratio=test_ratio, seed=seed, max_side=max_side,
                metadata_sha256=_sha256(osp.join(src, 'metadata.csv')))


def is_written(out: str, src: str, test_ratio: float = 0.3, seed: int = 0,
               max_side: int = 192) -> bool:
    """Whether ``out`` already holds this split, intact (every file's sha256 matches)."""
    path = osp.join(out, SPLIT_FILE)
    if not osp.isfile(path):
        return False
    with open(path) as f:
        written = json.load(f)
    if written.get('parameters') != _parameters(src, test_ratio, seed, max_side):
        return False
    return all(osp.isfile(osp.join(out, name)) and _sha256(osp.join(out, name)) == digest
               for name, digest in written.get('files', {}).items())


def write_cxr_mini(src: str, out: str, test_ratio: float = 0.3, seed: int = 0,
                   max_side: int = 192, log: Callable[[str], None] = print) -> dict:
    """Split covid-cxr by patient and write the experiment's folder (see module doc).

    Deterministic: the same ``src``, ``test_ratio``, ``seed`` and ``max_side`` give the same
    files; when ``out`` already holds them intact nothing is rewritten.

    Args:
        src (str): The covid-cxr folder (``metadata.csv``, ``images/``, ``masks/``).
        out (str): Output folder.
        test_ratio (float): Share of the patients held out. Defaults to 0.3.
        seed (int): Seed of the patient split. Defaults to 0.
        max_side (int): Longer side of the written images. Defaults to 192.
        log (callable): Where the summary goes. Defaults to ``print``.

    Returns:
        dict: The content of ``split.json``.
    """
    if is_written(out, src, test_ratio, seed, max_side):
        with open(osp.join(out, SPLIT_FILE)) as f:
            summary = json.load(f)
        log(f'cxr-mini: {out} already holds this split (seed {seed}); nothing rewritten')
        return summary
    from medvlp.text import ReportProcessor
    rows = read_metadata(src)
    part_of = split_patients(rows, test_ratio, seed)
    for sub in ('images', 'masks', 'cls', 'seg'):
        os.makedirs(osp.join(out, sub), exist_ok=True)
    processor = ReportProcessor()
    lines: Dict[str, list] = {key: [] for key in ANNOTATIONS}
    skipped = dict(missing_image=0, empty_notes=0, empty_mask=0)
    for row in sorted(rows, key=lambda r: r['filename']):
        name, part = row['filename'], part_of[row['patientid']]
        image = osp.join(src, 'images', name)
        if not osp.isfile(image):
            skipped['missing_image'] += 1
            continue
        _resized(image, max_side, mask=False).save(osp.join(out, 'images', name))
        label = is_covid(row['finding'])
        lines['cls_train' if part == 'dev' else 'cls_test'].append((name, [label]))
        mask = osp.join(src, 'masks', name)
        if osp.isfile(mask):
            resized = _resized(mask, max_side, mask=True)
            if resized.getbbox() is None:  # all-zero (unannotated lateral views)
                skipped['empty_mask'] += 1
            else:
                resized.save(osp.join(out, 'masks', name))
                lines['seg_train' if part == 'dev' else 'seg_test'].append(
                    osp.splitext(name)[0])
        if not row['clinical_notes'].strip():
            skipped['empty_notes'] += 1
            continue
        # images of one patient with the same note are one study: retrieval counts that
        # note as the right report for each of them
        note_digest = hashlib.sha1(row['clinical_notes'].encode()).hexdigest()[:10]
        record = dict(img_path=f'images/{name}', subject_id=row['patientid'],
                      study_id=f"{row['patientid']}-{note_digest}", view=row['view'],
                      finding=row['finding'], labels={'COVID-19': label})
        record.update(processor.process_report(row['clinical_notes'], source='note'))
        lines['pretrain' if part == 'dev' else 'retrieval_test'].append(record)

    files = {}
    for key, name in ANNOTATIONS.items():
        path = osp.join(out, name)
        with open(path, 'w', encoding='utf-8') as f:
            if name.endswith('.jsonl'):
                f.writelines(json.dumps(r, ensure_ascii=False, sort_keys=True) + '\n'
                             for r in lines[key])
            elif key.startswith('cls'):
                f.write(split_list_lines(lines[key]))
            else:
                f.writelines(n + '\n' for n in lines[key])
        files[name] = _sha256(path)
    meta_path = osp.join(out, 'metadata.csv')
    with open(meta_path, 'w', encoding='utf-8', newline='') as f:
        writer = csv.writer(f, lineterminator='\n')
        writer.writerow(['filename', 'patientid', 'finding', 'view', 'part'])
        for row in sorted(rows, key=lambda r: r['filename']):
            writer.writerow([row['filename'], row['patientid'], row['finding'], row['view'],
                             part_of[row['patientid']]])
    files['metadata.csv'] = _sha256(meta_path)
    counts = {key: len(value) for key, value in lines.items()}
    summary = dict(
        parameters=_parameters(src, test_ratio, seed, max_side),
        patients={part: sorted(p for p, q in part_of.items() if q == part)
                  for part in ('dev', 'test')},
        counts=counts, skipped=skipped, files=files)
    check_leakage(out, summary)
    with open(osp.join(out, SPLIT_FILE), 'w') as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    log(f'cxr-mini: {len(summary["patients"]["dev"])} dev / '
        f'{len(summary["patients"]["test"])} held-out patients; ' +
        ', '.join(f'{k} {v}' for k, v in counts.items()) + '; skipped ' +
        ', '.join(f'{k} {v}' for k, v in skipped.items()))
    return summary


def _images_of(out: str, key: str) -> List[str]:
    """The image file names an annotation file of ``out`` refers to."""
    path = osp.join(out, ANNOTATIONS[key])
    with open(path, encoding='utf-8') as f:
        if path.endswith('.jsonl'):
            return [osp.basename(json.loads(line)['img_path']) for line in f if line.strip()]
        if key.startswith('cls'):
            return [line.split()[0] for line in f if line.strip()]
        return [line.strip() + '.png' for line in f if line.strip()]


def check_leakage(out: str, summary: Optional[dict] = None) -> Dict[str, int]:
    """Raise :class:`LeakageError` if a held-out image or patient is in a training file.

    Reads the files back from ``out`` (not the lists in memory) and the patient of every
    image from ``out/metadata.csv``.

    Returns:
        dict: images per annotation file, when nothing leaks.
    """
    with open(osp.join(out, 'metadata.csv'), encoding='utf-8', newline='') as f:
        meta = {row['filename']: row for row in csv.DictReader(f)}
    images = {key: _images_of(out, key) for key in ANNOTATIONS}
    unknown = sorted({n for names in images.values() for n in names} - set(meta))
    if unknown:
        raise LeakageError(f'{out}: {len(unknown)} annotated images are not in '
                           f'metadata.csv, e.g. {unknown[:3]}')
    test_images = {n for key in TEST_FILES for n in images[key]}
    test_patients = {meta[n]['patientid'] for n in test_images}
    if summary is not None:
        test_patients |= set(summary['patients']['test'])
    for key in TRAINING_FILES:
        leaked = sorted(n for n in images[key]
                        if n in test_images or meta[n]['patientid'] in test_patients
                        or meta[n]['part'] != 'dev')
        if leaked:
            raise LeakageError(f'{ANNOTATIONS[key]} holds {len(leaked)} held-out image(s) or '
                               f'image(s) of held-out patients, e.g. {leaked[:3]}')
    return {ANNOTATIONS[key]: len(names) for key, names in images.items()}
