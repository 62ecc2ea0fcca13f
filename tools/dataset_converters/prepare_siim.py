# Copyright (c) medvlp contributors. All rights reserved.
"""Convert SIIM-ACR Pneumothorax (DICOM + ``train-rle.csv``) into mmseg's image/mask layout.

Output, under ``OUT``::

    images/<ImageId>.png          8-bit greyscale X-ray (MONOCHROME1 is inverted)
    masks/<ImageId>.png           palette PNG, 0 = background, 1 = pneumothorax
    splits/train_1pct.txt ...     one ImageId per line (mmseg's ``ann_file``)
    splits/val.txt, splits/test.txt
    summary.json                  counts of what was kept and skipped, and the split rule

The split is medvlp's own, not MRM's (MRM's SIIM lists put 494 images in both train and
test). Each image goes to train, val or test by a seeded hash of its ImageId, so the split
is image-disjoint, deterministic, and an image keeps its split whichever other DICOMs are
present. The 1% and 10% training lists are nested subsets of the 100% list, drawn by a
second hash separately among positive and negative images so each keeps the positive rate.
``--positives-only`` writes ``*_pos.txt`` lists holding only images with pneumothorax.

An image listed in the csv without a DICOM, a DICOM that cannot be read, or a malformed
RLE is skipped, counted and named in the summary; nothing is dropped silently.

Example::

    python tools/dataset_converters/prepare_siim.py \\
        data/siim/dicom-images-train data/siim/train-rle.csv data/siim_png --size 512
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.datasets.segmentation_rle import (EMPTY_RLE, RLEError,  # noqa: E402
                                              decode_image_rles, read_siim_rle_csv)
from medvlp.datasets.segmentation import unit_hash  # noqa: E402

SPLITS = ('train', 'val', 'test')
#: Palette of the mask PNGs: index 0 black (background), 1 white (pneumothorax).
MASK_PALETTE = [0, 0, 0, 255, 255, 255]


def assign_split(image_id: str, val_ratio: float, test_ratio: float, seed: int) -> str:
    """train / val / test for one image, by a seeded hash of its id."""
    u = unit_hash(image_id, seed, 'split')
    return 'test' if u < test_ratio else 'val' if u < test_ratio + val_ratio else 'train'


def train_fraction(ids: Sequence[str], positive: Dict[str, bool], percent: float,
                   seed: int) -> List[str]:
    """``percent`` % of ``ids``, stratified by ``positive``; nested as ``percent`` grows."""
    chosen = []
    for label in (True, False):
        group = sorted((i for i in ids if positive[i] == label),
                       key=lambda i: unit_hash(i, seed, 'fraction'))
        chosen += group[:math.ceil(len(group) * percent / 100)]
    return sorted(chosen)


def find_dicoms(root: str) -> Dict[str, str]:
    """``{file stem: path}`` of every ``.dcm`` under ``root`` (SIIM nests them by study)."""
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.lower().endswith('.dcm'):
                found[osp.splitext(name)[0]] = osp.join(folder, name)
    return found


def read_dicom(path: str) -> np.ndarray:
    """A DICOM's pixels as ``[H, W]`` uint8, MONOCHROME1 inverted to MONOCHROME2."""
    import pydicom
    ds = pydicom.dcmread(path)
    pixels = ds.pixel_array
    if pixels.ndim != 2:
        raise ValueError(f'expected a greyscale 2-D image, got shape {pixels.shape}')
    if pixels.dtype != np.uint8:
        pixels = pixels.astype(np.float32)
        low, high = float(pixels.min()), float(pixels.max())
        pixels = ((pixels - low) / max(high - low, 1e-6) * 255).round().astype(np.uint8)
    if str(ds.get('PhotometricInterpretation', '')).upper() == 'MONOCHROME1':
        pixels = 255 - pixels
    return pixels


def save_pair(image: np.ndarray, mask: np.ndarray, image_path: str, mask_path: str,
              size: Optional[int]) -> None:
    """Write the X-ray (bilinear resize) and its mask (nearest resize) as PNGs."""
    from PIL import Image
    img = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8))
    seg = Image.fromarray(np.ascontiguousarray(mask, dtype=np.uint8))
    seg.putpalette(MASK_PALETTE)  # an 'L' image with a palette becomes 'P', values kept
    if size and img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
        seg = seg.resize((size, size), Image.NEAREST)
    img.save(image_path)
    seg.save(mask_path)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert SIIM-ACR Pneumothorax DICOMs + train-rle.csv into image/mask '
        'PNGs and split lists for mmseg.')
    parser.add_argument('dicom_dir', help='folder holding the .dcm files (searched '
                        'recursively), e.g. dicom-images-train')
    parser.add_argument('rle_csv', help='train-rle.csv (or .csv.gz)')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--size', type=int, help='resize images and masks to SIZE x SIZE '
                        '(default: keep 1024)')
    parser.add_argument('--val-ratio', type=float, default=0.15,
                        help='share of images in val (default: 0.15)')
    parser.add_argument('--test-ratio', type=float, default=0.15,
                        help='share of images in test (default: 0.15)')
    parser.add_argument('--fractions', type=float, nargs='+', default=(1, 10, 100),
                        help='training-label percentages to list (default: 1 10 100)')
    parser.add_argument('--positives-only', action='store_true',
                        help='also write *_pos.txt lists with only pneumothorax images')
    parser.add_argument('--seed', type=int, default=0, help='split seed (default: 0)')
    args = parser.parse_args(argv)
    if not osp.isdir(args.dicom_dir):
        parser.error(f'{args.dicom_dir} is not a folder')
    if not osp.isfile(args.rle_csv):
        parser.error(f'{args.rle_csv} does not exist')
    if min(args.val_ratio, args.test_ratio) < 0 or args.val_ratio + args.test_ratio >= 1:
        parser.error('--val-ratio and --test-ratio must be >= 0 and sum to less than 1')
    if any(not 0 < f <= 100 for f in args.fractions):
        parser.error('--fractions must lie in (0, 100]')
    return args


def convert(args) -> Tuple[Dict[str, str], Dict[str, bool], Counter, Dict[str, List[str]]]:
    """Write the PNGs; returns (split of each kept id, its positivity, skip counts, skipped
    ids by reason)."""
    from tqdm import tqdm
    rows = read_siim_rle_csv(args.rle_csv)
    dicoms = find_dicoms(args.dicom_dir)
    for sub in ('images', 'masks', 'splits'):
        os.makedirs(osp.join(args.out, sub), exist_ok=True)
    kept_split, positive = {}, {}
    skipped: Dict[str, List[str]] = {}

    def skip(reason: str, image_id: str, detail: str = '') -> None:
        skipped.setdefault(reason, []).append(image_id + (f' ({detail})' if detail else ''))

    for image_id in tqdm(sorted(rows), desc='SIIM images', unit='img', disable=None):
        path = dicoms.get(image_id)
        if path is None:
            skip('missing DICOM', image_id)
            continue
        try:
            image = read_dicom(path)
        except Exception as e:  # pydicom raises many types for broken files
            skip('unreadable DICOM', image_id, f'{type(e).__name__}: {e}')
            continue
        try:
            mask = decode_image_rles(rows[image_id], image.shape, image_id)
        except RLEError as e:
            skip('malformed RLE', image_id, str(e))
            continue
        save_pair(image, mask, osp.join(args.out, 'images', image_id + '.png'),
                  osp.join(args.out, 'masks', image_id + '.png'), args.size)
        kept_split[image_id] = assign_split(image_id, args.val_ratio, args.test_ratio,
                                            args.seed)
        positive[image_id] = any(r != EMPTY_RLE for r in rows[image_id])
    extra = sorted(set(dicoms) - set(rows))
    if extra:
        skipped['DICOM without an RLE row'] = extra
    counts = Counter({reason: len(ids) for reason, ids in skipped.items()})
    return kept_split, positive, counts, skipped


def write_lists(out: str, kept_split: Dict[str, str], positive: Dict[str, bool],
                fractions: Sequence[float], positives_only: bool, seed: int) -> Dict[str, dict]:
    """Write the split lists; returns ``{list name: {images, positive}}``."""
    lists = {}
    by_split = {s: sorted(i for i, sp in kept_split.items() if sp == s) for s in SPLITS}
    for percent in fractions:
        label = f'{percent:g}'.replace('.', 'p')
        lists[f'train_{label}pct'] = train_fraction(by_split['train'], positive, percent, seed)
    lists['val'], lists['test'] = by_split['val'], by_split['test']
    if positives_only:
        for name in list(lists):
            lists[f'{name}_pos'] = [i for i in lists[name] if positive[i]]
    stats = {}
    for name, ids in lists.items():
        with open(osp.join(out, 'splits', f'{name}.txt'), 'w') as f:
            f.writelines(i + '\n' for i in ids)
        stats[name] = dict(images=len(ids), positive=sum(positive[i] for i in ids))
    return stats


def main(argv=None) -> dict:
    """Run the conversion; returns the summary written to ``OUT/summary.json``."""
    args = parse_args(argv)
    kept_split, positive, counts, skipped = convert(args)
    stats = write_lists(args.out, kept_split, positive, args.fractions, args.positives_only,
                        args.seed)
    summary = dict(
        converter='tools/dataset_converters/prepare_siim.py',
        split_rule=f'sha1 hash of ImageId with seed {args.seed}: test < {args.test_ratio}, '
        f'val < {args.test_ratio + args.val_ratio}, else train; training fractions '
        'nested and stratified by positivity',
        size=args.size or 'original',
        kept=len(kept_split),
        kept_positive=sum(positive.values()),
        skipped=dict(sorted(counts.items())),
        skipped_images={reason: ids for reason, ids in sorted(skipped.items())},
        lists=stats,
    )
    with open(osp.join(args.out, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print_summary(args.out, summary)
    return summary


def print_summary(out: str, summary: dict) -> None:
    print(f'kept {summary["kept"]} images ({summary["kept_positive"]} with pneumothorax) '
          f'in {out}')
    for reason, ids in summary['skipped_images'].items():
        shown = ', '.join(ids[:3]) + (f', ... ({len(ids) - 3} more)' if len(ids) > 3 else '')
        print(f'skipped {len(ids)}: {reason}: {shown}')
    print(f'{"list":<18}{"images":>8}{"positive":>10}')
    for name, stat in summary['lists'].items():
        print(f'{name:<18}{stat["images"]:>8}{stat["positive"]:>10}')
    print(f'full list of skipped images: {osp.join(out, "summary.json")}')


if __name__ == '__main__':
    main()
