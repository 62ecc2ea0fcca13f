# JoImTeRNet-style pre-training on the embedded demo data, on CPU in a few minutes.
# `python tools/test.py` on its checkpoint prints in-sample retrieval R@1/5/10.
_base_ = [
    '../_base_/models/joimternet_vit-tiny-p16.py',
    '../_base_/datasets/demo_cxr_report.py',
    '../_base_/schedules/adamw_cosine_30e_demo.py',
    '../_base_/default_runtime.py',
]

default_hooks = dict(logger=dict(interval=7), checkpoint=dict(interval=10, max_keep_ckpts=1))
