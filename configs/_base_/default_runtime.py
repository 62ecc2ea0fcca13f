# Runtime settings shared by every medvlp config.
# Types without a scope prefix are looked up in medvlp's registries first, then in
# mmengine's root registries; other projects' components need their prefix
# (``mmpretrain.MAE``) or ``_scope_='mmpretrain'`` on the dict that builds them.
default_scope = 'medvlp'

# Importing medvlp registers its modules and its safe checkpoint loader, also when a config
# is run by another project's tools. A config that sets its own custom_imports must keep
# 'medvlp' in the list.
custom_imports = dict(imports=['medvlp'], allow_failed_imports=False)

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # a sha256 sidecar next to each checkpoint; loading checks it (checkpoints.md)
    checkpoint_digest=dict(type='CheckpointDigestHook'),
    # stop at the first NaN/inf loss with a one-line error naming the term and iteration;
    # max_skips=N skips and counts up to N such steps first; default_hooks.non_finite=None
    # turns the guard off (tools/train.py and tools/test.py)
    non_finite=dict(type='NonFiniteLossHook', max_skips=0),
    # checkpoints carry the random state, so a resumed run reproduces the uninterrupted one
    rng_state=dict(type='RNGStateHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # tools/train.py switches to gloo when the machine has no CUDA. A collective that waits
    # longer than `timeout` seconds for another process (a stopped or frozen rank) fails
    # the run instead of hanging it (torch's default: 30 minutes).
    dist_cfg=dict(backend='nccl', timeout=600),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(window_size=10, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
