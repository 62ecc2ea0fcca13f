# MedIM / MGCA protocol on SIIM-ACR pneumothorax: frozen medvlp ViT-B/16, SETR-PUP decoder
# trained with AdamW (lr 5e-4, no layer decay: the encoder does not train), 224 px.
_base_ = [
    '../../_base_/models/seg_setr_vit-b-p16_frozen.py',
    '../../_base_/datasets/seg_siim_512px.py',
    '../../_base_/seg_default_runtime.py',
]

checkpoint = 'checkpoints/medim_vit-b-p16_pretrain.pth'  # a medvlp pre-training checkpoint
model = dict(backbone=dict(
    init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')))
crop_size = (224, 224)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))

max_iters = 10000
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='AdamW', lr=5e-4, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=500, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
