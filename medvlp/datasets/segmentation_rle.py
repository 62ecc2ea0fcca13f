# Copyright (c) medvlp contributors. All rights reserved.
"""Run-length encoding of the SIIM-ACR Pneumothorax masks (``train-rle.csv``).

The SIIM format, as the competition's ``mask_functions.py`` writes it:

* the csv header is ``ImageId, EncodedPixels``, with a leading space in the second name;
* ``EncodedPixels`` is ``-1`` for an image without pneumothorax;
* otherwise it is pairs ``start length``: each ``start`` counts the background pixels since
  the end of the previous run (the first one since pixel 0), so starts are **relative**;
* pixels are numbered **column-major** (down the first column, then the next) over the
  1024 x 1024 image;
* an image with several pneumothorax regions has several rows, one per region; its mask
  is the union of the rows.
"""
import csv
import gzip
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np

#: Height and width of every SIIM-ACR image.
SIIM_IMAGE_SIZE = (1024, 1024)
#: The value of ``EncodedPixels`` for an empty mask.
EMPTY_RLE = '-1'


class RLEError(ValueError):
    """A malformed run-length encoding; the message names the image."""


def _where(image_id: Optional[str]) -> str:
    return f' of image "{image_id}"' if image_id else ''


def rle_decode(rle: str,
               shape: Tuple[int, int] = SIIM_IMAGE_SIZE,
               image_id: Optional[str] = None) -> np.ndarray:
    """Decode one SIIM RLE string into a binary mask.

    Args:
        rle (str): ``'-1'`` (empty) or ``'start length start length ...'`` with relative
            starts over the column-major image.
        shape (tuple): ``(H, W)`` of the image. Defaults to 1024 x 1024.
        image_id (str, optional): Named in error messages.

    Returns:
        np.ndarray: ``[H, W]`` uint8 mask, 1 inside the runs; a Fortran-ordered
        (column-major) array, as the RLE is, so encoding it again is cheap.

    Raises:
        RLEError: If the string is not integers, has an odd count, has a negative value or
            a run past the last pixel.
    """
    height, width = shape
    flat = np.zeros(height * width, dtype=np.uint8)
    text = rle.strip()
    if text == EMPTY_RLE:
        return flat.reshape(width, height).T
    if not text:
        raise RLEError(f'RLE{_where(image_id)} is empty; SIIM writes "-1" for no mask')
    try:
        values = np.array([int(token) for token in text.split()], dtype=np.int64)
    except ValueError:
        raise RLEError(f'RLE{_where(image_id)} holds something other than integers: '
                       f'"{text[:60]}"') from None
    if values.size % 2:
        raise RLEError(f'RLE{_where(image_id)} has an odd number of integers '
                       f'({values.size}); it must be (start, length) pairs')
    if (values < 0).any():
        raise RLEError(f'RLE{_where(image_id)} has a negative start or length')
    starts, lengths = values[0::2], values[1::2]
    # Relative starts: run i begins after all previous gaps and runs.
    begins = np.cumsum(starts) + np.concatenate([[0], np.cumsum(lengths)[:-1]])
    ends = begins + lengths
    if ends.size and ends[-1] > flat.size:
        raise RLEError(f'RLE{_where(image_id)} runs to pixel {int(ends[-1])}, past the '
                       f'{height}x{width} image ({flat.size} pixels)')
    for begin, end in zip(begins.tolist(), ends.tolist()):
        flat[begin:end] = 1
    # Column-major: the flat index runs down the columns.
    return flat.reshape(width, height).T


def rle_encode(mask: np.ndarray) -> str:
    """Encode a binary mask as a SIIM RLE string (the inverse of :func:`rle_decode`).

    Args:
        mask (np.ndarray): ``[H, W]`` array; non-zero pixels are foreground.

    Returns:
        str: ``'-1'`` for an empty mask, else relative ``start length`` pairs.
    """
    if mask.ndim != 2:
        raise ValueError(f'expected a [H, W] mask, got shape {mask.shape}')
    flat = np.asarray(mask).T.reshape(-1) != 0
    if not flat.any():
        return EMPTY_RLE
    # Run edges: where a pixel differs from the one before it (the image is padded with
    # background on both ends), alternately a run's begin and its end.
    padded = np.zeros(flat.size + 2, dtype=bool)
    padded[1:-1] = flat
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    begins, ends = edges[0::2], edges[1::2]
    previous_ends = np.concatenate([[0], ends[:-1]])
    pairs = np.stack([begins - previous_ends, ends - begins], axis=1).reshape(-1)
    return ' '.join(map(str, pairs.tolist()))


def read_siim_rle_csv(path: str) -> 'OrderedDict[str, List[str]]':
    """Read ``train-rle.csv`` (optionally gzipped) into ``{image id: [rle, ...]}``.

    The rows of an image are kept in file order; ids keep the order of their first row.
    Column names are matched after stripping spaces, so both ``EncodedPixels`` and the
    official ``' EncodedPixels'`` work.

    Raises:
        RLEError: If the file lacks the two columns or a row has no id.
    """
    opener = gzip.open if str(path).endswith('.gz') else open
    rows: 'OrderedDict[str, List[str]]' = OrderedDict()
    with opener(path, 'rt', encoding='utf-8', newline='') as f:
        reader = csv.reader(f)
        header = [name.strip() for name in next(reader, [])]
        if 'ImageId' not in header or 'EncodedPixels' not in header:
            raise RLEError(f'{path}: expected the columns "ImageId, EncodedPixels", found '
                           f'{header}')
        id_col, rle_col = header.index('ImageId'), header.index('EncodedPixels')
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) <= max(id_col, rle_col) or not row[id_col].strip():
                raise RLEError(f'{path}:{line_no}: expected "ImageId, EncodedPixels", '
                               f'got {row}')
            rows.setdefault(row[id_col].strip(), []).append(row[rle_col].strip())
    return rows


def decode_image_rles(rles: List[str],
                      shape: Tuple[int, int] = SIIM_IMAGE_SIZE,
                      image_id: Optional[str] = None) -> np.ndarray:
    """The mask of one image: the union of its rows' masks (``-1`` rows add nothing)."""
    mask = np.zeros(shape, dtype=np.uint8, order='F')  # the decoded masks' order
    for rle in rles:
        mask |= rle_decode(rle, shape, image_id)
    return mask


def siim_positive_ids(rows: Dict[str, List[str]]) -> List[str]:
    """The ids of images with at least one non-empty row."""
    return [i for i, rles in rows.items() if any(r.strip() != EMPTY_RLE for r in rles)]
