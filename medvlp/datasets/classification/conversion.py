# Copyright (c) medvlp contributors. All rights reserved.
"""What the classification converters share: matching label tables to split lists,
skip bookkeeping, per-split/per-class counts and writing the lists.

The output of every converter is a folder of split lists in MRM's format
(``<image> <y_1> ... <y_k>``), named as MRM names them (``train_1.txt``, ``train_10.txt``,
``train_list.txt``, ``val_list.txt``, ``test_list.txt``), which
:class:`~medvlp.datasets.classification.SplitListDataset` reads.
"""
import gzip
import os
import os.path as osp
from collections import Counter, OrderedDict
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .label_tables import split_list_lines
from .official_splits import official_split_list
from .sampling import patient_disjoint_split
from .split_list import parse_split_list

Entry = Tuple[str, np.ndarray]

#: Output file of each split (as in MRM's DatasetsSplits folders).
SPLIT_FILES = OrderedDict([('train_1', 'train_1.txt'), ('train_10', 'train_10.txt'),
                           ('train_100', 'train_list.txt'), ('val', 'val_list.txt'),
                           ('test', 'test_list.txt')])
DISAGREE_POLICIES = ('skip', 'table', 'list')


class ConversionReport:
    """Split lists being built, with the reason and count of everything skipped."""

    def __init__(self, classes: Sequence[str]) -> None:
        self.classes = tuple(classes)
        self.splits: Dict[str, List[Entry]] = OrderedDict()
        self.skipped: Dict[str, Counter] = OrderedDict()
        #: Things counted but kept (e.g. labels that disagree with an official list).
        self.notes: Dict[str, Counter] = OrderedDict()

    def note(self, split: str, what: str, count: int = 1) -> None:
        self.notes.setdefault(split, Counter())[what] += count

    def add(self, split: str, image: str, labels: Sequence[int]) -> None:
        self.splits.setdefault(split, []).append((image, np.asarray(labels, dtype=np.uint8)))
        self.skipped.setdefault(split, Counter())

    def skip(self, split: str, reason: str, count: int = 1) -> None:
        """Count ``count`` images left out of ``split`` (``split='input'``: left out before
        the splits are drawn)."""
        if split != 'input':
            self.splits.setdefault(split, [])
        self.skipped.setdefault(split, Counter())[reason] += count

    def counts(self, split: str) -> Dict[str, int]:
        """Number of images and of positives per class in ``split``."""
        entries = self.splits.get(split, [])
        totals = np.sum([labels for _, labels in entries], axis=0) if entries else \
            np.zeros(len(self.classes), dtype=int)
        return dict(images=len(entries), **{c: int(n) for c, n in zip(self.classes, totals)})

    def summary(self) -> str:
        """A table of images and positives per split and class, then the skips."""
        names = ['images'] + list(self.classes)
        widths = [max(len(n), 6) + 2 for n in names]
        lines = ['split'.ljust(10) + ''.join(n.rjust(w) for n, w in zip(names, widths))]
        for split in self.splits:
            counts = self.counts(split)
            lines.append(split.ljust(10) +
                         ''.join(str(counts[n]).rjust(w) for n, w in zip(names, widths)))
        skips = [(s, r, n) for s, c in self.skipped.items() for r, n in sorted(c.items())]
        if skips:
            lines.append('skipped:')
            lines += [f'  {split}: {n} {reason}' for split, reason, n in skips]
        else:
            lines.append('skipped: nothing')
        notes = [(s, r, n) for s, c in self.notes.items() for r, n in sorted(c.items())]
        if notes:
            lines.append('kept, but note:')
            lines += [f'  {split}: {n} {what}' for split, what, n in notes]
        return '\n'.join(lines)

    def write(self, out_dir: str, compress: bool = False) -> List[str]:
        """Write one list per split; returns the paths written."""
        os.makedirs(out_dir, exist_ok=True)
        written = []
        for split, entries in self.splits.items():
            path = osp.join(out_dir, SPLIT_FILES.get(split, f'{split}.txt'))
            text = split_list_lines(entries)
            if compress:
                path += '.gz'
                with gzip.GzipFile(path, 'wb', mtime=0) as f:
                    f.write(text.encode('utf-8'))
            else:
                with open(path, 'w', encoding='utf-8') as f:
                    f.write(text)
            written.append(path)
        return written


def match_official_list(report: ConversionReport,
                        split: str,
                        list_path: str,
                        table: Mapping[str, np.ndarray],
                        image_exists: Optional[Callable[[str], bool]] = None,
                        on_disagree: str = 'skip',
                        keep: Optional[Callable[[str], Optional[str]]] = None) -> None:
    """Add the images of an official list to ``split`` with their labels from ``table``.

    Args:
        report: Where the entries and skips go.
        split (str): The split name (``train_1``, ``val``, ...).
        list_path (str): The official list.
        table (Mapping[str, np.ndarray]): Image → labels derived from the label table.
        image_exists (callable, optional): Checks an image; missing ones are skipped.
        on_disagree (str): For images whose table labels differ from the list's:
            ``'skip'`` them, or keep the ``'table'``'s or the ``'list'``'s labels. Either
            way they are counted.
        keep (callable, optional): Returns a skip reason for an image to leave out (e.g. a
            lateral view), or None.
    """
    if on_disagree not in DISAGREE_POLICIES:
        raise ValueError(f'on_disagree must be one of {DISAGREE_POLICIES}')
    for image, listed in parse_split_list(list_path, len(report.classes)):
        if image not in table:
            report.skip(split, 'not in the label table')
            continue
        reason = keep(image) if keep else None
        if reason:
            report.skip(split, reason)
            continue
        if image_exists is not None and not image_exists(image):
            report.skip(split, 'image file missing')
            continue
        labels = table[image]
        if (labels != listed).any():
            if on_disagree == 'skip':
                report.skip(split, 'labels disagree with the official list')
                continue
            report.note(split, f'labels disagree with the official list (kept the '
                        f'{on_disagree}\'s labels)')
            if on_disagree == 'list':
                labels = listed
        report.add(split, image, labels)


def copy_official_list(report: ConversionReport,
                       split: str,
                       list_path: str,
                       image_exists: Optional[Callable[[str], bool]] = None,
                       why: str = '') -> None:
    """Add an official list to ``split`` with its own labels (for images the label table
    does not cover, such as a separately released test set), counting what is copied."""
    entries = parse_split_list(list_path, len(report.classes))
    for image, labels in entries:
        if image_exists is not None and not image_exists(image):
            report.skip(split, 'image file missing')
        else:
            report.add(split, image, labels)
    report.note(split, f'images with the official list\'s labels{why}', len(entries))


def sample_splits(report: ConversionReport,
                  samples: Sequence[Tuple[str, str, np.ndarray]],
                  seed: int,
                  val_ratio: float,
                  test_ratio: float,
                  image_exists: Optional[Callable[[str], bool]] = None) -> None:
    """Fill ``report`` with a seeded patient-disjoint stratified split of ``samples``
    (``(image, patient, labels)``) at 1/10/100% of the training labels; samples whose
    image is missing are skipped first (and counted)."""
    if image_exists is not None:
        present = [s for s in samples if image_exists(s[0])]
        if len(present) < len(samples):
            report.skip('input', 'image file missing', len(samples) - len(present))
        samples = present
    labels = {image: lab for image, _, lab in samples}
    split = patient_disjoint_split(samples, val_ratio=val_ratio, test_ratio=test_ratio,
                                   seed=seed)
    for name in SPLIT_FILES:
        for image in split[name]:
            report.add(name, image, labels[image])


def image_checker(images: Optional[str]) -> Optional[Callable[[str], bool]]:
    """A function telling whether ``<images>/<relative path>`` exists (None: no check)."""
    if not images:
        return None
    return lambda rel: osp.isfile(osp.join(images, rel))


def official_list_path(folder: str, split: str) -> str:
    """The file of ``split`` in a folder of official lists (plain or gzipped)."""
    name = SPLIT_FILES[split]
    for candidate in (osp.join(folder, name), osp.join(folder, name + '.gz')):
        if osp.isfile(candidate):
            return candidate
    raise FileNotFoundError(f'no {name} (or {name}.gz) in "{folder}"')


def add_split_args(parser, dataset: str) -> None:
    """Options shared by the converters that follow MRM's official lists."""
    parser.add_argument('--lists', help='folder of official lists (default: those shipped '
                        f'with medvlp, medvlp/datasets/splits/{dataset})')
    parser.add_argument('--images', help='image folder the list paths are relative to; '
                        'missing images are skipped (default: no check)')
    parser.add_argument('--on-disagree', choices=['skip', 'table', 'list'], default='skip',
                        help='images whose table labels differ from an official list: skip '
                        'them (default) or keep the table\'s / the list\'s labels')
    parser.add_argument('--sample', type=int, metavar='SEED',
                        help='draw a seeded patient-disjoint stratified split instead')
    parser.add_argument('--val-ratio', type=float, default=0.1)
    parser.add_argument('--test-ratio', type=float, default=0.2)
    parser.add_argument('--gzip', action='store_true', help='write .txt.gz lists')


def official_lists(args, dataset: str) -> dict:
    """Split name → official list path (from ``--lists`` or the shipped ones)."""
    found = {}
    for split in SPLIT_FILES:
        if args.lists:
            found[split] = official_list_path(args.lists, split)
        else:
            name, _, fraction = split.partition('_')
            found[split] = official_split_list(dataset, name, int(fraction or 100))
    return found
