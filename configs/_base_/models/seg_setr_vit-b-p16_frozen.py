# The MedIM / MGCA segmentation protocol: a frozen pre-trained ViT-B/16 (all blocks and the
# patch embedding, frozen_stages=12) under a light SETR progressive-upsampling decoder
# (mmseg's SETRUPHead: 4 x (conv, 2x up) = 16x) on the last block's feature map; only
# the decoder trains. MedIM's own restoration decoder (medvlp.SETRUpDecoder) follows the
# same design; mmseg's head is used here because it plugs into EncoderDecoder as is.
crop_size = (224, 224)
embed_dims = 768
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='EncoderDecoder',
    _scope_='mmseg',  # mmseg's types, whatever the default scope
    data_preprocessor=dict(
        type='SegDataPreProcessor',
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
        out_indices=(11, ),
        out_type='featmap',
        with_cls_token=True,
        final_norm=True,
        frozen_stages=12),
    decode_head=dict(
        type='SETRUPHead',
        in_channels=embed_dims,
        channels=256,
        in_index=0,
        num_classes=2,
        dropout_ratio=0.0,
        norm_cfg=norm_cfg,
        num_convs=4,
        up_scale=2,
        kernel_size=3,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            dict(type='DiceLoss', use_sigmoid=False, loss_weight=1.0),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
