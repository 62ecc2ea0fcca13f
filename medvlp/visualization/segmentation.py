# Copyright (c) medvlp contributors. All rights reserved.
"""Segmentation overlays: predicted and ground-truth mask contours drawn on the X-ray."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook

from medvlp.registry import HOOKS

#: RGB colours of the contours.
PRED_COLOUR = (255, 64, 64)
GT_COLOUR = (64, 255, 64)


def _contours(mask: np.ndarray):
    import cv2
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST,
                                   cv2.CHAIN_APPROX_NONE)
    return contours


def draw_mask_contours(image: np.ndarray,
                       pred: Optional[np.ndarray] = None,
                       gt: Optional[np.ndarray] = None,
                       text: Optional[str] = None,
                       thickness: Optional[int] = None) -> np.ndarray:
    """Draw the outlines of a predicted (red) and a ground-truth (green) mask on an image.

    Args:
        image (np.ndarray): ``[H, W]`` or ``[H, W, 3]`` uint8 RGB image.
        pred (np.ndarray, optional): ``[H, W]`` mask; non-zero is foreground.
        gt (np.ndarray, optional): ``[H, W]`` mask; non-zero is foreground.
        text (str, optional): A caption written in the top-left corner.
        thickness (int, optional): Line width; by default 1 px per 256 px of image side.

    Returns:
        np.ndarray: ``[H, W, 3]`` uint8 RGB image.
    """
    import cv2
    canvas = np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image.copy()
    canvas = np.ascontiguousarray(canvas, dtype=np.uint8)
    hw = canvas.shape[:2]
    for name, mask in (('prediction', pred), ('ground truth', gt)):
        if mask is not None and mask.shape[:2] != hw:
            raise ValueError(f'{name} mask {mask.shape[:2]} and image {hw} differ in size')
    thickness = thickness or max(1, round(max(hw) / 256))
    if gt is not None:
        cv2.drawContours(canvas, _contours(gt != 0), -1, GT_COLOUR, thickness)
    if pred is not None:
        cv2.drawContours(canvas, _contours(pred != 0), -1, PRED_COLOUR, thickness)
    if text:
        scale = max(hw) / 700
        cv2.putText(canvas, text, (4, 4 + int(22 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 0), max(1, thickness), cv2.LINE_AA)
    return canvas


def foreground_dice(pred: np.ndarray, gt: np.ndarray) -> float:
    """Dice of two binary masks; 1 when both are empty."""
    total = pred.sum() + gt.sum()
    return 1.0 if total == 0 else float(2 * (pred & gt).sum() / total)


@HOOKS.register_module()
class SegOverlayHook(Hook):
    """Write overlay PNGs (prediction red, ground truth green) of the first test images.

    ``tools/test.py --show-dir DIR --show-num N`` adds it. Each PNG is named after its image
    and captioned with the image's foreground Dice. Pixels of class ``foreground_index`` are
    the foreground; ``ignore_index`` pixels of the ground truth are left out.

    Args:
        out_dir (str): Folder for the PNGs (created).
        max_images (int): How many images to draw. Defaults to 10.
        foreground_index (int): Class drawn. Defaults to 1.
        ignore_index (int): Ignored ground-truth value. Defaults to 255.
    """
    priority = 'LOW'

    def __init__(self, out_dir: str, max_images: int = 10, foreground_index: int = 1,
                 ignore_index: int = 255) -> None:
        self.out_dir = out_dir
        self.max_images = max_images
        self.foreground_index = foreground_index
        self.ignore_index = ignore_index
        self.written = []

    def before_test(self, runner) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        self.written = []

    def after_test_iter(self, runner, batch_idx: int, data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        for sample in outputs or []:
            if len(self.written) >= self.max_images:
                return
            self.written.append(self.draw(sample))

    def after_test(self, runner) -> None:
        runner.logger.info(f'SegOverlayHook: wrote {len(self.written)} overlay PNGs to '
                           f'{osp.abspath(self.out_dir)}')

    def draw(self, sample) -> str:
        """Write the overlay of one data sample; returns the PNG's path."""
        import mmcv
        if 'pred_sem_seg' not in sample:
            raise ValueError('SegOverlayHook needs segmentation predictions (pred_sem_seg); '
                             '--show-dir works with segmentation configs only')
        image = mmcv.imread(sample.img_path, channel_order='rgb')
        pred = sample.pred_sem_seg.data[0].cpu().numpy() == self.foreground_index
        gt, text = None, None
        if 'gt_sem_seg' in sample:
            labels = sample.gt_sem_seg.data[0].cpu().numpy()
            gt = labels == self.foreground_index
            valid = labels != self.ignore_index
            text = f'Dice {foreground_dice(pred & valid, gt):.3f}'
        canvas = draw_mask_contours(image, pred, gt, text)
        path = osp.join(self.out_dir, osp.splitext(osp.basename(sample.img_path))[0] + '.png')
        mmcv.imwrite(canvas[..., ::-1], path)
        return path
