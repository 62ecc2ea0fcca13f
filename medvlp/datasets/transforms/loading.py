# Copyright (c) medvlp contributors. All rights reserved.
"""Loading chest X-rays (PNG, JPEG, PGM, DICOM) into 3-channel uint8 arrays."""
import io
import logging
import os.path as osp
import re
from typing import Optional, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmengine.logging import print_log
from PIL import Image, UnidentifiedImageError

from medvlp.registry import TRANSFORMS

#: File suffixes read as DICOM (besides any file with the ``DICM`` preamble magic).
DICOM_SUFFIXES = ('.dcm', '.dicom')
#: Default pixel limit of :class:`LoadCXRImage`: 10x a 3000 x 3000 radiograph. Larger
#: files are refused before they are decoded (a "decompression bomb" PNG of 14000 x 14000
#: would take 196 MB as greyscale and more while decoding).
DEFAULT_MAX_PIXELS = 90_000_000


class CorruptImageError(ValueError):
    """An image file exists but cannot be decoded (truncated, corrupt, not an image)."""


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Map a greyscale array of any numeric type to uint8.

    8-bit data is returned unchanged. Deeper data (12/16-bit PNGs, DICOM after the modality
    and VOI LUTs) is stretched from its own minimum to its maximum, the usual practice for
    chest X-rays whose stored range varies from scanner to scanner.
    """
    if pixels.dtype == np.uint8:
        return pixels
    pixels = pixels.astype(np.float32)
    low, high = float(pixels.min()), float(pixels.max())
    if high <= low:
        return np.zeros(pixels.shape, dtype=np.uint8)
    pixels = (pixels - low) * (255.0 / (high - low))
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _check_pixels(width: int, height: int, filename: str, max_pixels: Optional[int]) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise CorruptImageError(
            f'image "{filename}" has {width} x {height} = {width * height} pixels, more than '
            f'the limit of {max_pixels} (LoadCXRImage max_pixels); refused before decoding')


def decode_dicom(content: bytes, filename: str = '<bytes>',
                 max_pixels: Optional[int] = None) -> np.ndarray:
    """Decode DICOM bytes to a 2-D uint8 greyscale array.

    Applies the modality LUT (rescale slope/intercept), the VOI LUT or window when present,
    and inverts MONOCHROME1 images so that bone is bright, as in every other format.

    Raises:
        ImportError: If ``pydicom`` is not installed.
        CorruptImageError: If the bytes are not a readable DICOM image.
    """
    try:
        import pydicom
    except ImportError as e:
        raise ImportError(
            f'reading the DICOM file "{filename}" needs pydicom; install it with '
            '`pip install pydicom` (or `pip install -r requirements/optional.txt`), '
            'or convert the images to PNG/JPEG first') from e
    try:
        from pydicom.pixels import apply_modality_lut, apply_voi_lut
    except ImportError:  # pydicom < 3
        from pydicom.pixel_data_handlers.util import (apply_modality_lut,
                                                      apply_voi_lut)
    try:
        dataset = pydicom.dcmread(io.BytesIO(content))
        _check_pixels(int(getattr(dataset, 'Columns', 0) or 0),
                      int(getattr(dataset, 'Rows', 0) or 0), filename, max_pixels)
        pixels = dataset.pixel_array
    except CorruptImageError:
        raise
    except Exception as e:  # pydicom raises many types for broken files
        raise CorruptImageError(
            f'cannot decode DICOM image "{filename}": {type(e).__name__}: {e}') from e
    if pixels.ndim == 3 and pixels.shape[-1] in (3, 4):  # rare colour DICOM
        pixels = np.asarray(Image.fromarray(_to_uint8(pixels[..., :3])).convert('L'))
    elif pixels.ndim != 2:
        raise CorruptImageError(
            f'DICOM image "{filename}" has pixel shape {pixels.shape}; expected one 2-D '
            'frame')
    pixels = apply_modality_lut(pixels, dataset)
    pixels = apply_voi_lut(pixels, dataset)
    pixels = _to_uint8(np.asarray(pixels))
    if str(getattr(dataset, 'PhotometricInterpretation', '')).upper() == 'MONOCHROME1':
        pixels = 255 - pixels
    return pixels


#: JPEG start-of-frame markers the OpenCV fast path decodes (baseline, extended
#: sequential and progressive Huffman coding).
_FAST_JPEG_FRAMES = (0xC0, 0xC1, 0xC2)
#: Markers that stand alone (no length field): TEM, RST0-7.
_STANDALONE_MARKERS = frozenset([0x01, *range(0xD0, 0xD8)])


def jpeg_frame(content: bytes) -> Optional[Tuple[int, int, int, int, int]]:
    """The frame header of JPEG bytes: ``(marker, precision, height, width, components)``.

    Walks the marker segments from the start of the file to the first start-of-frame
    (SOF) segment without decoding anything. Returns None for bytes that are not a JPEG
    or whose header is cut short or malformed before the frame.
    """
    if content[:2] != b'\xff\xd8':
        return None
    position, size = 2, len(content)
    while position + 4 <= size:
        if content[position] != 0xFF:
            return None
        marker = content[position + 1]
        if marker == 0xFF:  # fill byte before a marker
            position += 1
            continue
        if marker in _STANDALONE_MARKERS:
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame
            return None
        length = (content[position + 2] << 8) | content[position + 3]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            if length < 8 or position + 10 > size:
                return None
            header = content[position + 4:position + 10]
            return (marker, header[0], (header[1] << 8) | header[2],
                    (header[3] << 8) | header[4], header[5])
        position += 2 + length
    return None


def _decode_grey_jpeg(content: bytes, filename: str,
                      max_pixels: Optional[int]) -> Optional[np.ndarray]:
    """Decode a complete 8-bit greyscale JPEG with OpenCV, or None to use Pillow.

    The pixels are those of Pillow's decode (both use libjpeg-turbo's accurate integer
    IDCT; no colour conversion takes place for one component, and ``IMREAD_UNCHANGED``
    ignores the EXIF orientation, as Pillow does). OpenCV skips Pillow's per-image
    object overhead (about a quarter of the time for a 256 px X-ray). Only files that
    end with the end-of-image marker take this path: OpenCV returns a truncated file's
    missing rows as grey, while Pillow raises, so every other file (truncated, with
    trailing bytes, colour, 12-bit, arithmetic-coded, not a JPEG) goes to Pillow.
    """
    frame = jpeg_frame(content)
    if frame is None or not content.endswith(b'\xff\xd9'):
        return None
    marker, precision, height, width, components = frame
    if marker not in _FAST_JPEG_FRAMES or precision != 8 or components != 1 or \
            height == 0 or width == 0:
        return None
    _check_pixels(width, height, filename, max_pixels)
    pixels = cv2.imdecode(np.frombuffer(content, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None or pixels.shape != (height, width) or pixels.dtype != np.uint8:
        return None
    return pixels


#: The header of an 8-bit binary PGM (Netpbm ``P5``) without comments, as Pillow and the
#: converters write it: magic, width, height and maxval separated by whitespace, then
#: exactly one whitespace byte before the pixels.
_PGM_HEADER = re.compile(rb'P5\s+(\d{1,9})\s+(\d{1,9})\s+(\d{1,5})\s')


def _decode_grey_pgm(content: bytes, filename: str,
                     max_pixels: Optional[int]) -> Optional[np.ndarray]:
    """Read an 8-bit binary PGM's pixels without a decoder, or None to use Pillow.

    A binary PGM stores the raw grey values row by row after a short text header, so
    reading one is a copy of its bytes: the pixels are Pillow's. Only a header without
    comments, a maximum value of 255 and exactly ``width x height`` pixel bytes take this
    path; everything else (comments, other maximum values, 16-bit, truncated files,
    trailing bytes, ASCII ``P2``) goes to Pillow, which reads or refuses it as before.
    """
    header = _PGM_HEADER.match(content)
    if header is None:
        return None
    width, height, maxval = (int(v) for v in header.groups())
    if maxval != 255 or width == 0 or height == 0 or \
            len(content) != header.end() + width * height:
        return None
    _check_pixels(width, height, filename, max_pixels)
    # a copy: the bytes are immutable, and the pipeline may write into the image
    return np.frombuffer(content, dtype=np.uint8, count=width * height,
                         offset=header.end()).reshape(height, width).copy()


def decode_image(content: bytes, filename: str = '<bytes>',
                 max_pixels: Optional[int] = None) -> np.ndarray:
    """Decode PNG/JPEG/other Pillow-readable bytes to a 2-D uint8 greyscale array.

    Colour images (annotated figures, RGB-stored radiographs) are converted to luminance.
    Pillow decodes everything except what the converters write: complete 8-bit
    greyscale JPEGs, which OpenCV decodes to the same pixels faster
    (:func:`_decode_grey_jpeg`), and 8-bit binary PGMs, whose pixels are copied from the
    file (:func:`_decode_grey_pgm`). Pillow is used for the rest because it reports
    truncated files as errors instead of returning a partly grey image.

    Raises:
        CorruptImageError: If the bytes are truncated, corrupt or not an image.
    """
    if content[:2] == b'P5':
        pixels = _decode_grey_pgm(content, filename, max_pixels)
    else:
        pixels = _decode_grey_jpeg(content, filename, max_pixels)
    if pixels is not None:
        return pixels
    try:
        with Image.open(io.BytesIO(content)) as img:
            _check_pixels(img.width, img.height, filename, max_pixels)
            img.load()
            if img.mode in ('I;16', 'I;16B', 'I;16L', 'I', 'F'):
                pixels = _to_uint8(np.asarray(img))
            else:
                pixels = np.asarray(img.convert('L'))
    except CorruptImageError:
        raise
    except Image.DecompressionBombError as e:  # Pillow's own limit, checked on open
        raise CorruptImageError(f'image "{filename}" is too large to decode: {e}') from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise CorruptImageError(
            f'cannot decode image "{filename}" ({len(content)} bytes): '
            f'{type(e).__name__}: {e}') from e
    if pixels.ndim == 3:  # 16-bit images with a trailing channel axis
        pixels = pixels[..., 0]
    return pixels


def is_dicom(filename: str, content: bytes) -> bool:
    """True for ``.dcm``/``.dicom`` files and files carrying the DICOM preamble magic."""
    return (osp.splitext(filename)[1].lower() in DICOM_SUFFIXES
            or content[128:132] == b'DICM')


@TRANSFORMS.register_module()
class LoadCXRImage(BaseTransform):
    """Load a chest X-ray as a greyscale image replicated to 3 channels.

    PNG (8 or 16 bit), JPEG, PGM and anything else Pillow reads are supported, and DICOM when
    ``pydicom`` is installed. Every image is reduced to one luminance channel (radiographs
    are grey; colour only comes from burnt-in annotations) and, with ``channels=3``, the
    channel is repeated so ImageNet-style backbones and data preprocessors work unchanged.

    **Required Keys:**

    - img_path

    **Added Keys:**

    - img (np.uint8, ``(H, W, 3)`` or ``(H, W)`` with ``channels=1``)
    - img_shape (tuple): ``(H, W)``
    - ori_shape (tuple): ``(H, W)``

    Args:
        channels (int): 3 (default) to repeat the grey channel, 1 to keep a 2-D array.
        to_float32 (bool): Convert the image to float32. Defaults to False.
        on_error (str): What to do with a missing, truncated, corrupt, too large or too
            small file.
            ``'raise'`` (default) raises :class:`CorruptImageError` (or
            ``FileNotFoundError``) naming the file. ``'skip'`` logs a warning with a
            running count and returns None; in training mode mmengine's
            ``BaseDataset`` then fetches another random sample instead (in test mode it
            raises). Use ``'skip'`` only for a few known-bad files among many.
        max_pixels (int, optional): Images with more pixels (width x height) are refused
            with a :class:`CorruptImageError` before decoding. None disables the check
            (Pillow's own limit still applies). Defaults to 90,000,000.
        min_size (int): Images whose height or width is below this (e.g. one ViT
            patch) are refused as :class:`CorruptImageError`: a 1 x 1 "X-ray" is a broken
            export, not data. 0 disables the check. Defaults to 16.
        backend_args (dict, optional): mmengine file backend arguments (for example a
            Petrel or HTTP backend). Defaults to None, the local disk.
    """

    ON_ERROR_OPTIONS = ('raise', 'skip')

    def __init__(self,
                 channels: int = 3,
                 to_float32: bool = False,
                 on_error: str = 'raise',
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 min_size: int = 16,
                 backend_args: Optional[dict] = None) -> None:
        if channels not in (1, 3):
            raise ValueError(f'channels must be 1 or 3, got {channels!r}')
        if on_error not in self.ON_ERROR_OPTIONS:
            raise ValueError(f'on_error must be one of {self.ON_ERROR_OPTIONS}, '
                             f'got {on_error!r}')
        if max_pixels is not None and max_pixels <= 0:
            raise ValueError(f'max_pixels must be None or > 0, got {max_pixels!r}')
        if min_size < 0:
            raise ValueError(f'min_size must be >= 0, got {min_size!r}')
        self.max_pixels = max_pixels
        self.min_size = min_size
        self.channels = channels
        self.to_float32 = to_float32
        self.on_error = on_error
        self.backend_args = backend_args.copy() if backend_args else None
        #: How many images this instance (one per dataloader worker) has skipped.
        self.num_skipped = 0

    def read(self, filename: str) -> np.ndarray:
        """Read and decode one file to a 2-D uint8 array.

        Raises:
            FileNotFoundError: If the file does not exist.
            CorruptImageError: If it cannot be decoded.
        """
        try:
            content = get(filename, backend_args=self.backend_args)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'image file "{filename}" does not exist') from e
        if not content:
            raise CorruptImageError(f'image file "{filename}" is empty (0 bytes)')
        if is_dicom(filename, content):
            pixels = decode_dicom(content, filename, self.max_pixels)
        else:
            pixels = decode_image(content, filename, self.max_pixels)
        if min(pixels.shape[:2]) < self.min_size:
            raise CorruptImageError(
                f'image "{filename}" is {pixels.shape[1]} x {pixels.shape[0]} pixels, smaller '
                f'than the minimum of {self.min_size} (LoadCXRImage min_size)')
        return pixels

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']`` into ``results['img']``.

        Returns:
            dict or None: The updated results, or None when the file is bad and
            ``on_error='skip'``.
        """
        filename = results['img_path']
        try:
            pixels = self.read(filename)
        except (FileNotFoundError, CorruptImageError) as e:
            if self.on_error == 'raise':
                raise
            self.num_skipped += 1
            print_log(
                f'LoadCXRImage skipped an unreadable image ({self.num_skipped} skipped so '
                f'far by this worker): {e}',
                logger='current',
                level=logging.WARNING)
            return None
        if self.channels == 3:
            pixels = np.repeat(pixels[..., None], 3, axis=2)
        if self.to_float32:
            pixels = pixels.astype(np.float32)
        results['img'] = pixels
        results['img_shape'] = pixels.shape[:2]
        results['ori_shape'] = pixels.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(channels={self.channels}, '
                f'to_float32={self.to_float32}, on_error={self.on_error!r}, '
                f'max_pixels={self.max_pixels}, min_size={self.min_size}, '
                f'backend_args={self.backend_args})')
