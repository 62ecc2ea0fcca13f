# MedIM pre-training on the embedded demo data (demo/cxr), on CPU in a few minutes.
_base_ = [
    '../_base_/models/medim_vit-tiny-p16.py',
    '../_base_/datasets/demo_cxr_report.py',
    '../_base_/default_runtime.py',
]

max_epochs = 30
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, by_epoch=True, begin=2,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(logger=dict(interval=7), checkpoint=dict(interval=10, max_keep_ckpts=1))
