# CheXpert, 100% of the training labels: linear probe (frozen encoder, AdamW).
# MRM's step/lr table, chexpert 100%: 15000 warm-up steps, 200,000 steps, lr 5e-4.
# This protocol's lr: 5e-4.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16_linear-probe.py',
    '../../../_base_/datasets/cls_chexpert.py',
    '../../../_base_/schedules/cls_adamw_linear-probe.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(fraction=100))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_iters=200000, val_interval=10000)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=15000),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=15000,
         end=200000),
]
