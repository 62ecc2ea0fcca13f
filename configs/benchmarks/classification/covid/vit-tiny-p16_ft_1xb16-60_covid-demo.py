# CPU demo of the MRM fine-tune protocol: the tiny demo ViT on covid-cxr (COVID-19 vs other,
# fold 1 lists restricted to the images present; see cls_covid.py for prepare_covid.py),
# 60 steps, validated every 20; the best validation AUC checkpoint is kept for tools/test.py.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH (e.g. a demo
# pre-training checkpoint of configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py).
_base_ = [
    '../../../_base_/models/cls_vit-tiny-p16.py',
    '../../../_base_/datasets/cls_covid_demo.py',
    '../../../_base_/schedules/cls_sgd_warmup-cosine.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=1))
optim_wrapper = dict(optimizer=dict(lr=3e-2))
train_cfg = dict(max_iters=60, val_interval=20)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=5),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=5, end=60),
]
default_hooks = dict(logger=dict(interval=5))
