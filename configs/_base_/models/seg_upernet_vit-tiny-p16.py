# Segmentation model for dense downstream tasks (lung masks, SIIM pneumothorax): an mmseg
# EncoderDecoder (UPerNet) around an mmpretrain ViT, as in mmseg's ViT-UPerNet configs but
# tiny enough for CPU tests. Pre-trained medvlp weights load into the backbone with
# init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.').
default_scope = 'mmseg'
custom_imports = dict(imports=['medvlp', 'mmseg.models'], allow_failed_imports=False)

norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (96, 96)
embed_dims = 64
model = dict(
    type='EncoderDecoder',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(
            embed_dims=embed_dims, num_layers=4, num_heads=2, feedforward_channels=128),
        img_size=crop_size,
        patch_size=16,
        out_indices=(0, 1, 2, 3),
        out_type='featmap',
        with_cls_token=True,
        final_norm=True),
    neck=dict(
        type='MultiLevelNeck',
        in_channels=[embed_dims] * 4,
        out_channels=embed_dims,
        scales=[4, 2, 1, 0.5]),
    decode_head=dict(
        type='UPerHead',
        in_channels=[embed_dims] * 4,
        in_index=[0, 1, 2, 3],
        pool_scales=(1, 2, 3, 6),
        channels=32,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=embed_dims,
        in_index=3,
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
