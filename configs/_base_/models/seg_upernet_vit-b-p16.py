# UPerNet on an mmpretrain ViT-B/16 (the classification backbone, so medvlp pre-training
# checkpoints load with the same keys), as mmseg's ViT-UPerNet: four ViT blocks' feature
# maps -> MultiLevelNeck (4x, 2x, 1x, 0.5x) -> UPerHead, with an FCN auxiliary head.
# Pre-trained weights:
#   backbone.init_cfg = dict(type='Pretrained', checkpoint=..., prefix='backbone.').
crop_size = (512, 512)
embed_dims = 768
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    _scope_='mmseg',  # mmseg's types, whatever the default scope
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        # MRM's chest X-ray statistics (0.4978, 0.2449) x 255, as the classification configs
        mean=[126.94, 126.94, 126.94],
        std=[62.45, 62.45, 62.45],
        bgr_to_rgb=True,
        pad_val=0,
        seg_pad_val=255,
        size=crop_size),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=crop_size,
        patch_size=16,
        out_indices=(3, 5, 7, 11),
        out_type='featmap',
        with_cls_token=True,
        final_norm=False,
        drop_path_rate=0.1),
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
        channels=512,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=embed_dims,
        in_index=3,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=2,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
