# Copyright (c) medvlp contributors. All rights reserved.
"""What the dataset converters (``tools/dataset_converters/``) share: skipping and counting
bad inputs by name, checking the output location before the work, and writing pre-resized
greyscale copies."""
import os
import os.path as osp
from collections import Counter, defaultdict
from typing import Dict, List, Tuple

from medvlp.utils.cli import UserError


class ConversionError(UserError):
    """A bad input or output of a converter, named by file (and row); one line."""


class BadInputs:
    """Inputs a converter could not use (an unparsable file, a malformed row), by reason.

    Each is named (file, and row or line where there is one). Without ``strict`` they are
    counted and skipped, and :meth:`summary_lines` lists them at the end; with ``strict``
    the first one raises a :class:`ConversionError`.

    Args:
        strict (bool): Fail at the first bad input. Defaults to False.
        max_named (int): How many names per reason the summary shows. Defaults to 10.
    """

    def __init__(self, strict: bool = False, max_named: int = 10) -> None:
        self.strict = strict
        self.max_named = max_named
        self.counts: Counter = Counter()
        self.names: Dict[str, List[str]] = defaultdict(list)

    def add(self, where: str, reason: str) -> None:
        """Record (or, when strict, raise on) one bad input ``where`` (file[, row])."""
        if self.strict:
            raise ConversionError(f'{where}: {reason} (without --strict such inputs are '
                                  'skipped and counted)')
        self.counts[reason] += 1
        self.names[reason].append(where)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> Dict[str, dict]:
        """``{reason: {'count': n, 'examples': [first names]}}`` for the metainfo."""
        return {reason: dict(count=n, examples=self.names[reason][:self.max_named])
                for reason, n in sorted(self.counts.items())}

    def summary_lines(self) -> List[str]:
        """Lines for the end-of-run summary (empty when nothing was bad)."""
        lines = []
        for reason, n in sorted(self.counts.items()):
            lines.append(f'    skipped {n:5d} bad inputs: {reason}')
            shown = self.names[reason][:self.max_named]
            lines += [f'        {name}' for name in shown]
            if n > len(shown):
                lines.append(f'        ... and {n - len(shown)} more')
        return lines


def check_output_file(path: str) -> None:
    """Fail before the work if ``path`` cannot be written: it is a folder, or its folder
    cannot be created or written.

    Raises:
        ConversionError: Naming the path and the problem.
    """
    path = osp.abspath(path)
    if osp.isdir(path):
        raise ConversionError(f'output "{path}" is a folder; give a file name such as '
                              f'{osp.join(path, "annotations.json")}')
    if osp.exists(path) and not os.access(path, os.W_OK):
        raise ConversionError(f'output "{path}" exists and is not writable')
    folder = osp.dirname(path)
    existing = folder
    while not osp.isdir(existing):
        if osp.exists(existing):
            raise ConversionError(f'output "{path}": "{existing}" is a file, not a folder')
        existing = osp.dirname(existing)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConversionError(f'output "{path}": folder "{existing}" is not writable')


#: How pre-resized greyscale copies can be stored: format name -> (file suffix, Pillow
#: save options). ``jpeg`` (quality 95) is about a quarter of the bytes of ``pgm``;
#: ``pgm`` (8-bit binary Netpbm, the raw grey values after a one-line header) is
#: lossless and needs no decoding: ``LoadCXRImage`` copies its pixels out of the file.
RESIZED_FORMATS: Dict[str, Tuple[str, dict]] = {
    'jpeg': ('.jpg', dict(format='JPEG', quality=95)),
    'pgm': ('.pgm', dict(format='PPM')),
}


def resized_suffix(fmt: str) -> str:
    """The file suffix of a :data:`RESIZED_FORMATS` format, e.g. ``'.pgm'``.

    Raises:
        ValueError: For an unknown format, listing the known ones.
    """
    if fmt not in RESIZED_FORMATS:
        raise ValueError(f'unknown resized image format {fmt!r}; '
                         f'choose one of {sorted(RESIZED_FORMATS)}')
    return RESIZED_FORMATS[fmt][0]


def save_grey_image(img, path: str, fmt: str) -> None:
    """Write a greyscale Pillow image to ``path`` in a :data:`RESIZED_FORMATS` format.

    The file appears under its final name only when it is complete (written under a
    temporary name, then renamed), so an interrupted run never leaves half an image.
    """
    resized_suffix(fmt)
    if img.mode != 'L':
        raise ValueError(f'save_grey_image writes 8-bit greyscale images (mode "L"), '
                         f'got mode "{img.mode}" for {path}')
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    img.save(tmp, **RESIZED_FORMATS[fmt][1])
    os.replace(tmp, path)
