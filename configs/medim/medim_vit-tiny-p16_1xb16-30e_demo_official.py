# MedIM on the embedded demo data (CPU) with the official code's masking and reconstruction
# (the `official` preset): medim_vit-tiny-p16_1xb16-30e_demo.py with the options of
# ../_base_/models/medim_official.py and punctuation dropped from the reports. Every
# difference is listed in docs/en/user_guides/medim.md, "Departures from the official code".
_base_ = ['./medim_vit-tiny-p16_1xb16-30e_demo.py', '../_base_/models/medim_official.py']

model = {{_base_.medim_official}}

img_size = 96
max_length = 64
train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='TokenizeReport', max_length=max_length, drop_punctuation=True),
    dict(type='PackImageReportInputs'),
]
test_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='TokenizeReport', max_length=max_length, drop_punctuation=True),
    dict(type='PackImageReportInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
