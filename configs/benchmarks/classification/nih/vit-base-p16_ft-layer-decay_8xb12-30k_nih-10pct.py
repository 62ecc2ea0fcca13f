# NIH ChestX-ray14, 10% of the training labels: fine-tune, layer-wise lr decay 0.65.
# MRM's step/lr table, nih 10%: 500 warm-up steps, 30,000 steps, lr 3e-3.
# This protocol's lr: 5e-4 * 96 / 256.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16.py',
    '../../../_base_/datasets/cls_nih.py',
    '../../../_base_/schedules/cls_adamw_layer-decay.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=14))
train_dataloader = dict(dataset=dict(fraction=10))
optim_wrapper = dict(optimizer=dict(lr=5e-4 * 96 / 256))
train_cfg = dict(max_iters=30000, val_interval=1500)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=1e-06, by_epoch=False, begin=500,
         end=30000),
]
