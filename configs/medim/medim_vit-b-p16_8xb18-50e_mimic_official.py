# MedIM on MIMIC-CXR with the official code's masking and reconstruction (the `official`
# preset): medim_vit-b-p16_8xb18-50e_mimic.py with the options of
# ../_base_/models/medim_official.py and punctuation dropped from the reports. Every
# difference is listed in docs/en/user_guides/medim.md, "Departures from the official code".
#   bash tools/dist_train.sh configs/medim/medim_vit-b-p16_8xb18-50e_mimic_official.py 8 --amp
_base_ = ['./medim_vit-b-p16_8xb18-50e_mimic.py', '../_base_/models/medim_official.py']

model = {{_base_.medim_official}}

img_size = 224
max_length = 128
# Pillow's bicubic resize, as the official code: the pixels of
# mmpretrain.RandomResizedCrop(backend='pillow') on a 3-channel load, bit for bit, from one
# grey channel (docs/en/input_pipeline.md).
train_pipeline = [
    dict(type='LoadCXRImage', channels=1),
    dict(type='CXRRandomResizedCrop', scale=img_size, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic',
         channels=1),  # one channel to the GPU, where CXRDataPreprocessor repeats it
    dict(type='TokenizeReport', max_length=max_length, drop_punctuation=True),
    dict(type='PackImageReportInputs'),
]
test_pipeline = [
    dict(type='LoadCXRImage', channels=1),  # one channel, as in training
    dict(type='mmpretrain.ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='TokenizeReport', max_length=max_length, drop_punctuation=True),
    dict(type='PackImageReportInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
