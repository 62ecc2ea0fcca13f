# Linear probe (the MedIM / MGCA protocol): the encoder is frozen (the model file sets
# frozen_stages to its depth) and only the linear head trains, with AdamW at 5e-4,
# warm-up + cosine per iteration. Recipes set steps and warm-up as in the fine-tune table.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), weight_decay=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=500, end=30000),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=30000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=96)
