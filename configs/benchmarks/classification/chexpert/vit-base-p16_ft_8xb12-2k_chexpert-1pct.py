# CheXpert, 1% of the training labels: MRM full fine-tune.
# MRM's step/lr table, chexpert 1%: 150 warm-up steps, 2,000 steps, lr 3e-3.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16.py',
    '../../../_base_/datasets/cls_chexpert.py',
    '../../../_base_/schedules/cls_sgd_warmup-cosine.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=5))
train_dataloader = dict(dataset=dict(fraction=1))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
train_cfg = dict(max_iters=2000, val_interval=100)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=150,
         end=2000),
]
