# Copyright (c) medvlp contributors. All rights reserved.
"""mmseg + mmpretrain + compiled mmcv ops, composed from a medvlp config."""
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

SEG_CONFIG = 'configs/_base_/models/seg_upernet_vit-tiny-p16.py'


def test_mmcv_compiled_ops_run_on_cpu():
    from mmcv.ops import PSAMask, nms
    from mmcv.utils import ext_loader
    ext = ext_loader.load_ext('_ext', ['psamask_forward', 'nms'])
    assert hasattr(ext, 'psamask_forward')
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    out = PSAMask('collect', (3, 3))(torch.rand(1, 9, 4, 4))
    assert out.shape == (1, 16, 4, 4)


def test_encoder_decoder_with_mmpretrain_vit_computes_loss(repo_root):
    from mmseg.registry import MODELS
    from mmseg.structures import SegDataSample
    cfg = Config.fromfile(str(repo_root / SEG_CONFIG))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'EncoderDecoder'
    assert type(model.backbone).__module__.startswith('mmpretrain.')

    torch.manual_seed(0)
    inputs, samples = [], []
    for _ in range(2):
        inputs.append(torch.randint(0, 256, (3, 96, 96), dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, 96, 96)))
        sample.set_metainfo(dict(img_shape=(96, 96), ori_shape=(96, 96), pad_shape=(96, 96)))
        samples.append(sample)
    data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)
    losses = model(**data, mode='loss')
    total = losses['decode.loss_ce'] + losses['aux.loss_ce']
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert model.backbone.patch_embed.projection.weight.grad.abs().sum() > 0
