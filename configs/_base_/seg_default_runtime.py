# Runtime of the segmentation benchmarks: mmseg's scope, so unprefixed types are mmseg's
# (UPerHead, IoUMetric, LoadImageFromFile, ...); medvlp's need the prefix
# (``medvlp.LungMaskDataset``) and mmpretrain's theirs (``mmpretrain.VisionTransformer``).
default_scope = 'mmseg'
custom_imports = dict(imports=['medvlp', 'mmseg.models', 'mmpretrain.models'],
                      allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000, max_keep_ckpts=2,
                    save_best='fg_dice', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    checkpoint_digest=dict(type='medvlp.CheckpointDigestHook'),
    non_finite=dict(type='medvlp.NonFiniteLossHook', max_skips=0),
)

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl', timeout=600),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
