# Runtime of the downstream classification recipes: default_runtime.py, logged and
# checkpointed per iteration; the checkpoint with the best validation mean AUC
# (best_cls_auc_iter_*.pth) is kept for testing, plus the last one.
_base_ = ['./default_runtime.py']

default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=-1,
        save_last=True,
        max_keep_ckpts=1,
        save_best='cls/auc',
        rule='greater'))
log_processor = dict(by_epoch=False)
