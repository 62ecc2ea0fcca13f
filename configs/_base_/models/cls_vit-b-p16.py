# Downstream classification at the official size: mmpretrain's ImageClassifier around a
# ViT-B/16 and a multi-label linear head (sigmoid + BCE; a binary task is one class), as in
# MRM's fine-tuning: the mean of the patch tokens goes through a new LayerNorm (``ln2``,
# MRM's fc_norm; final_norm=False), then the head. The pre-training checkpoint is loaded
# into the backbone from its ``backbone.`` keys; give its path on the command line:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/pretrain/epoch_50.pth
# (tools/model_converters/ turn official MRM / MAE / DeiT weights into such a checkpoint).
# Types of other projects carry their scope prefix (mmpretrain.*).
pretrained = 'SET-ME:--cfg-options model.backbone.init_cfg.checkpoint=PATH'
model = dict(
    type='mmpretrain.ImageClassifier',
    # MRM's grey-level statistics of MIMIC-CXR, as in pre-training (0.4978, 0.2449)
    data_preprocessor=dict(
        type='mmpretrain.ClsDataPreprocessor',
        mean=[126.94, 126.94, 126.94],
        std=[62.45, 62.45, 62.45],
        to_rgb=True),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        out_type='avg_featmap',
        final_norm=False,
        drop_path_rate=0.1,
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    neck=None,
    head=dict(
        type='mmpretrain.MultiLabelLinearClsHead',
        num_classes=14,
        in_channels=768,
        loss=dict(type='mmpretrain.CrossEntropyLoss', use_sigmoid=True),
        init_cfg=dict(type='TruncNormal', layer='Linear', std=2e-5)))
