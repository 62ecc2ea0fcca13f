# JoImTeRNet on the cxr-mini development pairs: the demo's tiny model (4-layer 96-d ViT at
# 96 px, 2-layer BERT), global + local alignment and MLM, 30 epochs.
_base_ = [
    '../../_base_/models/joimternet_vit-tiny-p16.py',
    '../../_base_/datasets/cxr_mini_report.py',
    '../../_base_/schedules/adamw_cosine_cxr-mini.py',
    '../../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=-1, save_last=True))
