# Shared pipelines and loaders of the downstream classification datasets (MRM's recipe):
# train on RandomResizedCrop(224, scale 0.08-1) + horizontal flip, evaluate on the short side
# resized to 224 and a 224 centre crop (bilinear, as torchvision's defaults in MRM's code).
# The task files (cls_nih.py, ...) set the dataset type and root.
img_size = 224
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
train_dataloader = dict(
    batch_size=12,  # x 8 GPUs = MRM's batch of 96
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(split='train', fraction=100, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(split='test', pipeline=test_pipeline))
# per-class and mean AUROC (cls/auc), F1 and accuracy at 0.5
val_evaluator = dict(type='MultiLabelAUROC')
test_evaluator = val_evaluator
