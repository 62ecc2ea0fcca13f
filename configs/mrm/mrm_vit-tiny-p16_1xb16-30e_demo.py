# MRM pre-training on the embedded demo data (demo/cxr: 100 real X-rays with their notes),
# on a CPU in about a minute; both losses fall. The pipeline delivers 192 px crops: the
# encoder sees them at 96 px and the decoder restores the 192 px image.
_base_ = [
    '../_base_/models/mrm_vit-tiny-p16.py',
    '../_base_/datasets/demo_cxr_report.py',
    '../_base_/schedules/adamw_cosine_30e_demo.py',
    '../_base_/default_runtime.py',
]

target_resolution = 192  # = model.target_resolution
max_length = 64
train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=target_resolution,
         crop_ratio_range=(0.6, 1.0), backend='pillow', interpolation='bicubic'),
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]
train_dataloader = dict(batch_size=16, dataset=dict(pipeline=train_pipeline))
# pre-training only: no validation or test loop
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

optim_wrapper = dict(
    optimizer=dict(betas=(0.9, 0.95)),
    clip_grad=None,
    paramwise_cfg=dict(flat_decay_mult=0.0))
default_hooks = dict(logger=dict(interval=7), checkpoint=dict(interval=10, max_keep_ckpts=1))
