# MedIM on the cxr-mini development pairs: the demo's tiny MedIM (4-layer 96-d ViT at
# 96 px, 2-layer BERT), report-guided KWM + SDM masks, 30 epochs.
_base_ = [
    '../../_base_/models/medim_vit-tiny-p16.py',
    '../../_base_/datasets/cxr_mini_report.py',
    '../../_base_/schedules/adamw_cosine_cxr-mini.py',
    '../../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=-1, save_last=True))
