# NIH ChestX-ray14, 100% of the training labels: MRM full fine-tune.
# MRM's step/lr table, nih 100%: 5000 warm-up steps, 200,000 steps, lr 3e-3.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16.py',
    '../../../_base_/datasets/cls_nih.py',
    '../../../_base_/schedules/cls_sgd_warmup-cosine.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=14))
train_dataloader = dict(dataset=dict(fraction=100))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
train_cfg = dict(max_iters=200000, val_interval=10000)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5000),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=5000,
         end=200000),
]
