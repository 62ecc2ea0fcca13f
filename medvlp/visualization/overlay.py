# Copyright (c) medvlp contributors. All rights reserved.
"""Heat-map overlays of patch-level maps (attention, masks) on chest X-rays."""
from typing import Tuple

import numpy as np
import torch
import torch.nn.functional as F


def patch_map_to_image(values: torch.Tensor, grid: Tuple[int, int],
                       image_hw: Tuple[int, int], smooth: bool = True) -> np.ndarray:
    """Upsample a per-patch map to image resolution.

    Args:
        values (torch.Tensor): ``[P]`` values, one per patch in row-major order.
        grid (tuple): ``(rows, cols)`` of the patch grid, ``rows * cols == P``.
        image_hw (tuple): ``(H, W)`` of the image to overlay.
        smooth (bool): Bilinear (True) or nearest (False, for binary masks) upsampling.

    Returns:
        np.ndarray: ``[H, W]`` float32 map.
    """
    rows, cols = grid
    if values.numel() != rows * cols:
        raise ValueError(f'{values.numel()} values do not fill a {rows}x{cols} patch grid')
    mode = 'bilinear' if smooth else 'nearest'
    kwargs = dict(align_corners=False) if smooth else {}
    up = F.interpolate(values.detach().float().reshape(1, 1, rows, cols).cpu(),
                       size=tuple(image_hw), mode=mode, **kwargs)
    return up[0, 0].numpy()


def overlay_heatmap(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45,
                    cmap: str = 'jet') -> np.ndarray:
    """Blend a heat map over a greyscale or RGB image.

    Args:
        image (np.ndarray): ``[H, W]`` or ``[H, W, 3]`` uint8 image.
        heat (np.ndarray): ``[H, W]`` map; rescaled to [0, 1] (a constant map gives 0).
        alpha (float): Opacity of the heat map. Defaults to 0.45.
        cmap (str): Matplotlib colour map. Defaults to 'jet'.

    Returns:
        np.ndarray: ``[H, W, 3]`` uint8 RGB image.
    """
    from matplotlib import colormaps
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.shape[:2] != heat.shape:
        raise ValueError(f'image {image.shape[:2]} and heat map {heat.shape} differ in size')
    span = float(heat.max() - heat.min())
    norm = (heat - heat.min()) / span if span > 0 else np.zeros_like(heat)
    colour = colormaps[cmap](norm)[..., :3] * 255
    blended = (1 - alpha) * image.astype(np.float32) + alpha * colour
    return blended.clip(0, 255).astype(np.uint8)
