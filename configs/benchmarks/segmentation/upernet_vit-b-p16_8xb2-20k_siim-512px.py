# UPerNet + MultiLevelNeck on a medvlp ViT-B/16 checkpoint, SIIM-ACR pneumothorax at
# 512 px: cross-entropy + Dice loss, AdamW with layer decay 0.65, warm-up + poly, 20k
# iterations of 8 GPUs x 2 images.
_base_ = [
    '../../_base_/models/seg_upernet_vit-b-p16.py',
    '../../_base_/datasets/seg_siim_512px.py',
    '../../_base_/schedules/seg_adamw-ld0.65_warmup-poly_160k.py',
    '../../_base_/seg_default_runtime.py',
]

checkpoint = 'checkpoints/medvlp_vit-b-p16_pretrain.pth'  # a medvlp pre-training checkpoint
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    decode_head=dict(loss_decode=[
        dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        dict(type='DiceLoss', use_sigmoid=False, loss_weight=1.0),
    ]))
max_iters = 20000
optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=1500, end=max_iters),
]
train_cfg = dict(max_iters=max_iters, val_interval=2000)
