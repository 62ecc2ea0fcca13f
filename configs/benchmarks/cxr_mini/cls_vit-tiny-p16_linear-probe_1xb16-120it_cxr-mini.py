# Linear probe on cxr-mini (COVID-19 vs other): the pre-trained tiny ViT frozen (class
# token after the final norm), a linear head trained 120 steps with AdamW; tested on the
# held-out patients with the last weights. Weights:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = [
    '../../_base_/models/cls_vit-tiny-p16_linear-probe.py',
    '../../_base_/datasets/cls_cxr-mini.py',
    '../../_base_/schedules/cls_adamw_linear-probe.py',
    '../../_base_/cls_runtime.py',
]

max_iters = 120
model = dict(head=dict(num_classes=1))
optim_wrapper = dict(optimizer=dict(lr=1e-2))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters + 1)
val_cfg = None
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=10),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=10, end=max_iters),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False, interval=-1,
                    save_last=True))
