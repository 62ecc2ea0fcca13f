# Copyright (c) medvlp contributors. All rights reserved.
import numpy as np
import pytest
import torch

from medvlp.visualization import overlay_heatmap, patch_map_to_image


def test_patch_map_upsamples_row_major():
    values = torch.tensor([0., 1., 2., 3., 4., 5.])  # 2 rows x 3 cols
    nearest = patch_map_to_image(values, (2, 3), (4, 6), smooth=False)
    assert nearest.shape == (4, 6)
    assert nearest[0, 0] == 0 and nearest[0, 5] == 2 and nearest[3, 0] == 3
    smooth = patch_map_to_image(values, (2, 3), (4, 6))
    assert smooth.min() >= 0 and smooth.max() <= 5 and smooth[3, 5] > smooth[0, 0]
    with pytest.raises(ValueError, match='do not fill a 2x2 patch grid'):
        patch_map_to_image(values, (2, 2), (4, 4))


def test_overlay_colours_the_hot_spot():
    image = np.full((8, 8), 100, dtype=np.uint8)
    heat = np.zeros((8, 8), dtype=np.float32)
    heat[:4, :4] = 1.0
    out = overlay_heatmap(image, heat, alpha=0.5, cmap='jet')
    assert out.shape == (8, 8, 3) and out.dtype == np.uint8
    # jet: the hot corner turns red, the cold rest blue
    assert out[0, 0, 0] > out[0, 0, 2] and out[7, 7, 2] > out[7, 7, 0]
    flat = overlay_heatmap(image, np.ones((8, 8)))
    assert (flat == flat[0, 0]).all()  # a constant map colours everything alike
    with pytest.raises(ValueError, match='differ in size'):
        overlay_heatmap(image, np.zeros((4, 4)))
