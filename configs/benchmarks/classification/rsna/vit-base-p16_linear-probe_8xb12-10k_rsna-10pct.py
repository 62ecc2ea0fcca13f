# RSNA Pneumonia, 10% of the training labels: linear probe (frozen encoder, AdamW).
# MRM's step/lr table, rsna 10%: 200 warm-up steps, 10,000 steps, lr 5e-4.
# This protocol's lr: 5e-4.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16_linear-probe.py',
    '../../../_base_/datasets/cls_rsna.py',
    '../../../_base_/schedules/cls_adamw_linear-probe.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=1))
train_dataloader = dict(dataset=dict(fraction=10))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_iters=10000, val_interval=500)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=200),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=200,
         end=10000),
]
