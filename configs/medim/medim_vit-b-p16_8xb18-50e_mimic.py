# MedIM pre-training on MIMIC-CXR: ViT-B/16 at 224 px, 8 GPUs x 18 images (144 per step),
# 50 epochs, AdamW with cosine decay after 5 warm-up epochs.
#   bash tools/dist_train.sh configs/medim/medim_vit-b-p16_8xb18-50e_mimic.py 8
# Other layouts: keep the total with --cfg-options train_dataloader.batch_size=...
# or rescale the learning rate with --auto-scale-lr (base batch 144).
_base_ = [
    '../_base_/models/medim_vit-b-p16.py',
    '../_base_/datasets/mimic_cxr_report.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=18)

max_epochs = 50
warmup_epochs = 5
optim_wrapper = dict(
    # mixed precision on GPUs: add --amp to tools/train.py (AmpOptimWrapper)
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(custom_keys={
        'ln': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'bias': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0),
        'mask_token': dict(decay_mult=0.0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
auto_scale_lr = dict(base_batch_size=144)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5, max_keep_ckpts=3))
