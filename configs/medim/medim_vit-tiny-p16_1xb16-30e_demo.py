# MedIM pre-training on the embedded demo data (demo/cxr), on CPU in a few minutes.
_base_ = [
    '../_base_/models/medim_vit-tiny-p16.py',
    '../_base_/datasets/demo_cxr_report.py',
    '../_base_/schedules/adamw_cosine_30e_demo.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(betas=(0.9, 0.95)))

default_hooks = dict(logger=dict(interval=7), checkpoint=dict(interval=10, max_keep_ckpts=1))
