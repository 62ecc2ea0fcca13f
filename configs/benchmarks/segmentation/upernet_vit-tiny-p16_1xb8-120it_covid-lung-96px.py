# CPU demo of the UPerNet recipe: the demo pre-training encoder (ViT embed 96, 4 blocks,
# 96 px) fine-tuned on the covid-cxr lung masks (patient-disjoint split) for 120
# iterations of 8 images, AdamW with layer decay 0.65, warm-up + poly. Set the checkpoint:
#   --cfg-options model.backbone.init_cfg.checkpoint=work_dirs/medim_demo/epoch_30.pth
_base_ = [
    '../../_base_/models/seg_upernet_vit-tiny-p16.py',
    '../../_base_/datasets/seg_covid-lung_96px.py',
    '../../_base_/seg_default_runtime.py',
]

checkpoint = 'work_dirs/demo/epoch_30.pth'  # `make demo`'s MedIM checkpoint
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        dict(type='DiceLoss', use_sigmoid=False, loss_weight=0.5),
    ]))
max_iters = 120
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=0.05),
    constructor='medvlp.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=0.65, norm_decay_mult=0.0, flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=60)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=60, max_keep_ckpts=1))
