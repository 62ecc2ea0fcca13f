# Copyright (c) medvlp contributors. All rights reserved.
"""mmseg's PSAHead made safe for ViT feature maps on CPU."""
from typing import List

import torch
from mmseg.models.decode_heads import PSAHead

from medvlp.registry import MODELS


@MODELS.register_module()
class ContiguousPSAHead(PSAHead):
    """``PSAHead`` that makes its inputs contiguous before mmcv's ``psamask``.

    mmpretrain's ``VisionTransformer`` returns its ``featmap`` outputs as a permuted
    (channels-last) view, and convolutions keep that memory format. mmcv's CPU
    ``psamask_forward`` then fails with "view size is not compatible with input tensor's
    size and stride". Copying the features into the default layout first avoids it; the
    results are those of ``PSAHead``. Use it as ``type='medvlp.ContiguousPSAHead'`` with
    ``PSAHead``'s arguments.
    """

    def forward(self, inputs: List[torch.Tensor]) -> torch.Tensor:
        return super().forward([x.contiguous() for x in inputs])
