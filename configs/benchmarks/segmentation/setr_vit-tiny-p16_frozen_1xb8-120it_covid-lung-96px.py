# CPU demo of the frozen-encoder SETR protocol on the covid-cxr lung masks: the demo
# pre-training encoder frozen, only the SETR-PUP decoder trains.
# The same model as seg_setr_vit-b-p16_frozen.py at the demo encoder's size.
_base_ = ['./upernet_vit-tiny-p16_1xb8-120it_covid-lung-96px.py']
crop_size = (96, 96)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    _delete_=True,
    type='EncoderDecoder',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192),
        img_size=crop_size,
        patch_size=16,
        out_indices=(3, ),
        out_type='featmap',
        with_cls_token=True,
        final_norm=True,
        frozen_stages=4,
        init_cfg=dict(type='Pretrained', checkpoint='work_dirs/demo/epoch_30.pth',
                      prefix='backbone.')),
    decode_head=dict(
        type='SETRUPHead', in_channels=96, channels=32, in_index=0, num_classes=2,
        dropout_ratio=0.0, norm_cfg=norm_cfg, num_convs=4, up_scale=2, kernel_size=3,
        align_corners=False,
        loss_decode=[
            dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            dict(type='DiceLoss', use_sigmoid=False, loss_weight=0.5),
        ]),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
optim_wrapper = dict(_delete_=True, type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
