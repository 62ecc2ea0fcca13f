# MRM on the cxr-mini development pairs: the demo's tiny MRM (4-layer 96-d MAE ViT at 96
# px, 75% masking, restoring the 192 px crop; 2-layer BERT with MLM), 30 epochs.
_base_ = [
    '../../_base_/models/mrm_vit-tiny-p16.py',
    '../../_base_/datasets/cxr_mini_report.py',
    '../../_base_/schedules/adamw_cosine_cxr-mini.py',
    '../../_base_/default_runtime.py',
]

target_resolution = 192  # = model.target_resolution
train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=target_resolution,
         crop_ratio_range=(0.6, 1.0), backend='pillow', interpolation='bicubic'),
    dict(type='TokenizeReport', max_length=64),
    dict(type='PackImageReportInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
test_dataloader = None  # no image-report embedding space: no retrieval test
test_evaluator = None
test_cfg = None
optim_wrapper = dict(clip_grad=None, paramwise_cfg=dict(flat_decay_mult=0.0))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=-1, save_last=True))
