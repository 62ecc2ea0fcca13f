# CPU demo of the linear-probe protocol (frozen tiny demo ViT, AdamW) on covid-cxr
# (COVID-19 vs other, fold 1, the images present), 60 steps, validated every 20.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-tiny-p16_linear-probe.py',
    '../../../_base_/datasets/cls_covid_demo.py',
    '../../../_base_/schedules/cls_adamw_linear-probe.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=1))
optim_wrapper = dict(optimizer=dict(lr=1e-2))
train_cfg = dict(max_iters=60, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=5, end=60),
]
default_hooks = dict(logger=dict(interval=5))
