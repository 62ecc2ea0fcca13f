# RSNA Pneumonia, 1% of the training labels: fine-tune, layer-wise lr decay 0.65.
# MRM's step/lr table, rsna 1%: 50 warm-up steps, 2,000 steps, lr 3e-3.
# This protocol's lr: 5e-4 * 96 / 256.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16.py',
    '../../../_base_/datasets/cls_rsna.py',
    '../../../_base_/schedules/cls_adamw_layer-decay.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=1))
train_dataloader = dict(dataset=dict(fraction=1))
optim_wrapper = dict(optimizer=dict(lr=5e-4 * 96 / 256))
train_cfg = dict(max_iters=2000, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', eta_min=1e-06, by_epoch=False, begin=50,
         end=2000),
]
