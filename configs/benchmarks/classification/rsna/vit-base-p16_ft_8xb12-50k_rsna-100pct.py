# RSNA Pneumonia, 100% of the training labels: MRM full fine-tune.
# MRM's step/lr table, rsna 100%: 2000 warm-up steps, 50,000 steps, lr 5e-4.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../../_base_/models/cls_vit-b-p16.py',
    '../../../_base_/datasets/cls_rsna.py',
    '../../../_base_/schedules/cls_sgd_warmup-cosine.py',
    '../../../_base_/cls_runtime.py',
]

model = dict(head=dict(num_classes=1))
train_dataloader = dict(dataset=dict(fraction=100))
optim_wrapper = dict(optimizer=dict(lr=5e-4))
train_cfg = dict(max_iters=50000, val_interval=2500)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=2000),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=2000,
         end=50000),
]
