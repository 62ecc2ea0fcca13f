# Copyright (c) medvlp contributors. All rights reserved.
"""How much the report guides MedIM's masks: measured, per sample, on real pairs.

For a MedIM model and image-report pairs (the config's training records, through its test
pipeline: no random crop), :func:`mask_guidance_stats` measures

* ``kwm_fallback`` / ``sdm_fallback``: share of samples without a keyword (a sentence)
  in the text encoder's word window, whose mask is drawn at random (``fallback='random'``);
* ``kwm_map_entropy`` / ``sdm_map_entropy``: normalised entropy of the patch map the mask
  rule splits (1 = the same value on every patch, i.e. no guidance), samples with guidance
  only;
* with lung masks: ``lung_patches`` (share of the patches that are lung) and
  ``kwm_in_lung`` / ``sdm_in_lung`` / ``random_in_lung``: share of the masked patches that
  are lung, for the report-guided masks and for random masks of the same size. Report
  words name lung findings, so guidance shows as ``*_in_lung`` above ``random_in_lung``.
"""
import math
import os.path as osp
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.dataset import default_collate

from medvlp.datasets.transforms.formatting import stack_data_sample_fields
from medvlp.models.algorithms.medim import OPTIONAL_WORD_FLAGS, WORD_FLAGS
from medvlp.models.mask_generators.mask_rules import RandomMaskRule


def lung_patch_grid(mask_path: str, size: int, grid: int) -> Optional[np.ndarray]:
    """``[grid * grid]`` bool, True for patches mostly inside the lung, of a 0/255 mask
    resized like the test pipeline (short side to ``size``, centre crop ``size``)."""
    if not osp.isfile(mask_path):
        return None
    from PIL import Image
    mask = Image.open(mask_path).convert('L')
    scale = size / min(mask.size)
    mask = mask.resize((max(size, round(mask.width * scale)),
                        max(size, round(mask.height * scale))), Image.Resampling.NEAREST)
    left, top = (mask.width - size) // 2, (mask.height - size) // 2
    arr = np.asarray(mask.crop((left, top, left + size, top + size))) > 127
    cell = size // grid
    blocks = arr[:grid * cell, :grid * cell].reshape(grid, cell, grid, cell)
    return (blocks.mean(axis=(1, 3)) > 0.5).reshape(-1)


def _entropy(patch_map: torch.Tensor) -> torch.Tensor:
    p = patch_map.clamp(min=0)
    p = p / p.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return -(p * p.clamp(min=1e-12).log()).sum(dim=1) / math.log(p.size(1))


@torch.no_grad()
def mask_guidance_stats(model, dataset, lung_dir: Optional[str] = None,
                        batch_size: int = 32, seed: int = 0) -> Dict[str, float]:
    """The measurements of the module docstring over every sample of ``dataset``.

    Args:
        model: A built :class:`~medvlp.models.MedIM` (eval mode).
        dataset: Image-report samples (``TokenizeReport`` + ``PackImageReportInputs``).
        lung_dir (str, optional): Folder of 0/255 lung masks named like the images.
        batch_size (int): Samples per forward pass. Defaults to 32.
        seed (int): Seed of the masks' random choices. Defaults to 0.
    """
    gen = torch.Generator().manual_seed(seed)
    sums: Dict[str, float] = {}
    counts: Dict[str, int] = {}
    lung_samples = 0

    def add(key: str, values: torch.Tensor) -> None:
        sums[key] = sums.get(key, 0.) + float(values.float().sum())
        counts[key] = counts.get(key, 0) + int(values.numel())

    for start in range(0, len(dataset), batch_size):
        indices = range(start, min(start + batch_size, len(dataset)))
        data = model.data_preprocessor(default_collate([dataset[i] for i in indices]), False)
        inputs, samples = data['inputs'], data['data_samples']
        flags = model._text_inputs(samples, inputs.device, WORD_FLAGS)  # as MedIM.loss
        flags.update(stack_data_sample_fields(samples, OPTIONAL_WORD_FLAGS,
                                              device=inputs.device))
        img = model.img_neck(model.backbone(inputs)[-1])
        txt = model.encode_text(model._text_inputs(samples, inputs.device))
        attention = model.mask_attention(img, txt)
        word_inputs = model.generator_inputs(attention, flags)
        masks = {}
        for name, generator in model.mask_generators.items():
            mask, info = generator(attention, **word_inputs, generator=gen, return_map=True)
            masks[name] = mask
            add(f'{name}_fallback', info.fallback)
            guided = ~info.fallback
            if guided.any():
                add(f'{name}_map_entropy', _entropy(info.patch_map[guided]))
        if lung_dir is None:
            continue
        num_masked = int(masks['kwm'][0].sum())
        random_rule = RandomMaskRule(mask_ratio=num_masked / masks['kwm'].size(1))
        masks['random'] = random_rule(torch.zeros_like(masks['kwm'], dtype=torch.float),
                                      generator=gen)
        side = math.isqrt(masks['kwm'].size(1))
        for row, index in enumerate(indices):
            info = dataset.get_data_info(index)
            lung = lung_patch_grid(osp.join(lung_dir, osp.basename(info['img_path'])),
                                   inputs.size(-1), side)
            if lung is None or not lung.any():
                continue
            lung = torch.from_numpy(lung)
            lung_samples += 1
            add('lung_patches', lung)
            for name, mask in masks.items():
                add(f'{name}_in_lung', lung[mask[row]])
    out = {key: sums[key] / counts[key] for key in sorted(sums) if counts[key]}
    out['samples'] = float(len(dataset))
    out['samples_with_lung_mask'] = float(lung_samples)
    return out
