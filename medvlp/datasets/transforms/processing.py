# Copyright (c) medvlp contributors. All rights reserved.
"""A cheaper RandomResizedCrop for greyscale chest X-rays."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import numpy as np
from mmpretrain.datasets.transforms import RandomResizedCrop
from PIL import Image

from medvlp.registry import TRANSFORMS

#: Interpolation names shared with mmpretrain's ``RandomResizedCrop``.
PILLOW_CODES = {'nearest': Image.Resampling.NEAREST, 'bilinear': Image.Resampling.BILINEAR,
                'bicubic': Image.Resampling.BICUBIC, 'area': Image.Resampling.BOX,
                'lanczos': Image.Resampling.LANCZOS}
CV2_CODES = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR,
             'bicubic': cv2.INTER_CUBIC, 'area': cv2.INTER_AREA,
             'lanczos': cv2.INTER_LANCZOS4}


def grey_to_channels(grey: np.ndarray, channels: int) -> np.ndarray:
    """Repeat a 2-D image to ``(H, W, channels)`` stored channel-first.

    The values are those of ``np.repeat(grey[..., None], channels, axis=2)``; the memory
    is a C-contiguous ``(channels, H, W)`` array seen through ``transpose(1, 2, 0)``, so
    mmpretrain's ``PackInputs.format_input`` turns it into a CHW tensor without a copy
    (a C-contiguous HWC image costs a permute and a copy there). One channel of a
    contiguous, writable image is a view of it, without a copy.
    """
    if channels == 1 and grey.flags.c_contiguous and grey.flags.writeable:
        return grey[..., None]  # (H, W, 1) is already stored channel-first
    planes = np.empty((channels, ) + grey.shape, dtype=grey.dtype)
    planes[...] = grey
    return planes.transpose(1, 2, 0)


@TRANSFORMS.register_module()
class CXRRandomResizedCrop(RandomResizedCrop):
    """mmpretrain's ``RandomResizedCrop`` for greyscale images, without its copies.

    The crop box is drawn by the parent's ``rand_crop_params`` (same random numbers,
    same box). The crop and resize then run on the one grey channel that
    ``LoadCXRImage(channels=1)`` loads, and the result is repeated to ``channels``
    only at the output size. With ``backend='pillow'`` the output is bit-identical to
    ``mmpretrain.RandomResizedCrop(backend='pillow')`` on the 3-channel image (Pillow
    resamples every band alike); it is about 3x cheaper because mmpretrain crops a
    non-contiguous view that Pillow must copy band-interleaved, resizes three bands and
    ``LoadCXRImage(channels=3)`` has already repeated the full-size image.
    ``backend='cv2'`` resizes with OpenCV instead (about 10x cheaper than Pillow's
    bicubic here): OpenCV's bicubic uses a = -0.75 and does not widen the kernel when
    shrinking, so the pixels differ from Pillow's by a few grey levels (mean absolute
    difference < 1 on real X-rays; see ``docs/en/input_pipeline.md`` and the tests).

    A 3-channel input falls back to the parent's code (unchanged behaviour).

    **Required Keys:**

    - img (np.uint8, ``(H, W)`` or ``(H, W, C)``)

    **Modified Keys:**

    - img (``(h, w, channels)`` for a 2-D input; stored channel-first, see
      :func:`grey_to_channels`)
    - img_shape

    Args:
        scale (Sequence | int): Output size ``(h, w)`` or one int for a square.
        crop_ratio_range (tuple): Range of the crop's area relative to the image.
            Defaults to (0.08, 1.0).
        aspect_ratio_range (tuple): Range of the crop's aspect ratio.
            Defaults to (3/4, 4/3).
        max_attempts (int): Attempts before falling back to a central crop.
            Defaults to 10.
        interpolation (str): ``'nearest'``, ``'bilinear'``, ``'bicubic'``, ``'area'`` or
            ``'lanczos'``. Defaults to ``'bilinear'``.
        backend (str): ``'pillow'`` (exact mmpretrain pillow result) or ``'cv2'``.
            Defaults to ``'cv2'``, as mmpretrain.
        channels (int, optional): Channels of the output for a 2-D input. Defaults to 3
            (what ImageNet-style backbones and data preprocessors expect); None keeps
            the output 2-D.
    """

    def __init__(self,
                 scale: Union[Sequence, int],
                 crop_ratio_range: Tuple[float, float] = (0.08, 1.0),
                 aspect_ratio_range: Tuple[float, float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2',
                 channels: Optional[int] = 3) -> None:
        if backend not in ('cv2', 'pillow'):
            raise ValueError(f"backend must be 'cv2' or 'pillow', got {backend!r}")
        if interpolation not in PILLOW_CODES:
            raise ValueError(f'interpolation must be one of {tuple(PILLOW_CODES)}, '
                             f'got {interpolation!r}')
        if channels is not None and channels < 1:
            raise ValueError(f'channels must be None or >= 1, got {channels!r}')
        super().__init__(scale, crop_ratio_range, aspect_ratio_range, max_attempts,
                         interpolation, backend)
        self.channels = channels

    def crop_and_resize(self, grey: np.ndarray, box: Tuple[int, int, int, int]) -> np.ndarray:
        """Crop ``box = (offset_h, offset_w, h, w)`` of a 2-D uint8 image and resize it."""
        top, left, height, width = box
        size = (self.scale[1], self.scale[0])  # (w, h)
        if self.backend == 'pillow':
            image = Image.fromarray(np.ascontiguousarray(grey))
            image = image.crop((left, top, left + width, top + height))
            return np.asarray(image.resize(size, PILLOW_CODES[self.interpolation]))
        patch = grey[top:top + height, left:left + width]
        return cv2.resize(patch, size, interpolation=CV2_CODES[self.interpolation])

    def transform(self, results: dict) -> dict:
        """Crop and resize ``results['img']``; see the class docstring."""
        img = results['img']
        if img.ndim != 2 or img.dtype != np.uint8:
            return super().transform(results)
        out = self.crop_and_resize(img, self.rand_crop_params(img))
        if self.channels is not None:
            out = grey_to_channels(out, self.channels)
        results['img'] = out
        results['img_shape'] = out.shape
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', channels={self.channels})'
