# Copyright (c) medvlp contributors. All rights reserved.
"""What the ``demo_pretrain_checkpoints`` fixture (tests/conftest.py) produces.

Importable from any test as ``from demo_pretrain import DEMO_BACKBONE_ARCH`` (tests/ is on
``sys.path``, like ``algorithm_helpers``); ``from conftest import`` is not safe, since
another folder's conftest.py may be the module named ``conftest``.
"""

#: The demo pre-training configs whose checkpoints downstream tests start from.
DEMO_PRETRAIN_CONFIGS = {
    'medim': 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
    'mrm': 'configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py',
    'joimternet': 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py',
}

#: The image encoder those checkpoints hold under ``backbone.`` (mmpretrain ViT keys).
DEMO_BACKBONE_ARCH = dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192)
DEMO_IMG_SIZE = 96
