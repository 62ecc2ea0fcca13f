# MRM's fine-tuning schedule: SGD (momentum 0.9, no weight decay), gradient clipping at 1.0,
# linear warm-up then cosine decay per iteration, an iteration-based loop validated every
# val_interval steps. Each recipe sets its entry of MRM's step/lr table (lr, warm-up and
# total steps) and writes param_scheduler out again (a list in a config replaces the
# inherited one as a whole).
optim_wrapper = dict(optimizer=dict(lr=3e-2))
#   train_cfg = dict(max_iters=3000, val_interval=300)
#   param_scheduler = [dict(end=50), dict(begin=50, end=3000)]   (merged by position? no:
#   lists are replaced, so recipes use cls_schedule() below through the values it reads)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=3e-3, momentum=0.9, weight_decay=0.0),
    clip_grad=dict(max_norm=1.0))
warmup_iters = 500
max_iters = 30000
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=0.0, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=96)
