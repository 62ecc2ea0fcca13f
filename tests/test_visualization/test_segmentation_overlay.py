# Copyright (c) medvlp contributors. All rights reserved.
"""Mask-contour overlays on a real chest X-ray with its real lung mask."""
import numpy as np
import pytest
from PIL import Image

from medvlp.visualization.segmentation import (GT_COLOUR, PRED_COLOUR, draw_mask_contours,
                                               foreground_dice)


def test_contours_on_a_real_xray(shared_data):
    name = '1-s2.0-S1521661620303314-gr1_lrg-a.png'
    image = np.asarray(Image.open(shared_data / 'covid-cxr/images' / name).convert('L'))
    gt = np.asarray(Image.open(shared_data / 'covid-cxr/masks' / name)) > 127
    pred = np.zeros_like(gt)
    pred[100:300, 80:220] = True
    canvas = draw_mask_contours(image, pred, gt, text='Dice 0.5', thickness=1)
    assert canvas.shape == image.shape + (3, ) and canvas.dtype == np.uint8
    red = np.all(canvas == PRED_COLOUR, axis=2)
    green = np.all(canvas == GT_COLOUR, axis=2)
    # The red outline is the rectangle's border, not its inside.
    assert red[100, 80:220].mean() > 0.9 and red[101:299, 81:219].sum() == 0
    # The green outline lies on the mask's boundary: inside the mask, next to background.
    ys, xs = np.nonzero(green)
    assert len(ys) > 200 and gt[ys, xs].all()
    # Untouched pixels keep the X-ray.
    untouched = ~(red | green)
    untouched[:40, :200] = False  # the caption
    assert np.array_equal(canvas[untouched][:, 0], image[untouched])


def test_size_mismatch_and_dice():
    with pytest.raises(ValueError, match='differ in size'):
        draw_mask_contours(np.zeros((8, 8), np.uint8), pred=np.zeros((4, 4)))
    a = np.zeros((4, 4), bool)
    assert foreground_dice(a, a) == 1.0
    b = a.copy()
    b[0, :2] = True
    assert foreground_dice(a, b) == 0.0
