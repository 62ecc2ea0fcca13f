# Copyright (c) medvlp contributors. All rights reserved.
"""The mask-guidance measurement: lung patch grids, map entropy, and the tool on real pairs."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from medvlp.benchmark.mask_guidance import _entropy, lung_patch_grid

DEMO_MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'


def test_lung_patch_grid_follows_the_test_crop(tmp_path):
    # a 200 x 100 mask (wide): left half lung; short side -> 96, centre crop 96 x 96
    mask = np.zeros((100, 200), np.uint8)
    mask[:, :100] = 255
    Image.fromarray(mask).save(tmp_path / 'a.png')
    grid = lung_patch_grid(str(tmp_path / 'a.png'), size=96, grid=6).reshape(6, 6)
    # the crop keeps columns 48..144 of the 192-px-wide resize: lung is its first 48 px
    assert grid[:, :3].all() and not grid[:, 3:].any()
    assert lung_patch_grid(str(tmp_path / 'missing.png'), 96, 6) is None


def test_map_entropy_is_one_for_flat_maps_and_low_for_peaked_ones():
    flat = torch.ones(1, 36)
    peaked = torch.zeros(1, 36)
    peaked[0, 3] = 1.0
    assert _entropy(flat).item() == pytest.approx(1.0)
    assert _entropy(peaked).item() == pytest.approx(0.0, abs=1e-6)


@pytest.mark.slow
def test_tool_on_the_demo_pairs_with_real_lung_masks(shared_data, run_tool, tmp_path):
    out = tmp_path / 'stats.json'
    proc = run_tool('analysis_tools/mask_guidance.py', DEMO_MEDIM, '--lung-masks',
                    shared_data / 'covid-cxr' / 'masks', '--max-samples', 100, '--out', out)
    assert 'fresh initialisation, 100 samples' in proc.stdout
    assert 'masked patches inside the lungs' in proc.stdout
    stats = json.loads(out.read_text())
    assert 0 <= stats['kwm_fallback'] < 0.5 and stats['sdm_fallback'] < 0.1
    assert 0.5 < stats['kwm_map_entropy'] <= 1.0
    assert stats['samples_with_lung_mask'] >= 20
    # random masks are unbiased: their lung share is the lung share of all patches
    assert abs(stats['random_in_lung'] - stats['lung_patches']) < 0.1
    for key in ('kwm_in_lung', 'sdm_in_lung'):
        assert 0 < stats[key] < 1


def test_tool_refuses_a_config_that_is_not_medim(run_tool):
    proc = run_tool('analysis_tools/mask_guidance.py',
                    'configs/demo/mae_vit-tiny-p16_1xb8-10e_demo.py', check=False)
    assert proc.returncode != 0
    assert 'is not a MedIM config' in proc.stderr
