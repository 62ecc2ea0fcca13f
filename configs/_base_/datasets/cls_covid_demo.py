# cls_covid.py for CPU demos and tests: 96 px crops for the tiny demo ViT, batches of 16, no
# worker processes.
_base_ = ['./cls_covid.py']

img_size = 96
train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size, crop_ratio_range=(0.08, 1.0),
         backend='pillow', interpolation='bilinear'),
    dict(type='mmpretrain.RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.PackInputs'),
]
test_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.ResizeEdge', scale=img_size, edge='short',
         backend='pillow', interpolation='bilinear'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='mmpretrain.PackInputs'),
]
loader = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline), **loader)
val_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline), **loader)
test_dataloader = dict(batch_size=32, dataset=dict(pipeline=test_pipeline), **loader)
