# AdamW, 5 linear warm-up epochs, cosine decay to 1e-6 over 50 epochs: the schedule of the
# full-size image-report pre-training configs. Including configs set optimizer.lr and
# auto_scale_lr.base_batch_size for their batch layout. Mixed precision on GPUs: --amp.
max_epochs = 50
warmup_epochs = 5
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1.5e-4, betas=(0.9, 0.98), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    paramwise_cfg=dict(custom_keys={
        'ln': dict(decay_mult=0.0),
        'norm': dict(decay_mult=0.0),
        'bias': dict(decay_mult=0.0),
        'pos_embed': dict(decay_mult=0.0),
        'cls_token': dict(decay_mult=0.0),
        'mask_token': dict(decay_mult=0.0),
    }))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=1e-6,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
