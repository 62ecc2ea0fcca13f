# MIMIC-CXR-JPG image-report pairs prepared by tools/dataset_converters/prepare_mimic_cxr.py
# (see docs/en/user_guides/prepare_data.md). Frontal views, official splits, 224 px.
dataset_type = 'MIMICCXRDataset'
data_root = 'data/mimic-cxr/'
img_size = 224
max_length = 128  # tokens per report, [CLS] and [SEP] included

# The grey image is cropped and resized on its one channel (CXRRandomResizedCrop) and stays
# one channel through the workers, the pinned memory and the copy to the GPU; the model's
# CXRDataPreprocessor repeats it to the backbone's 3 channels there (same values as sending
# 3). The OpenCV bicubic resize is ~10x cheaper than Pillow's and differs from
# mmpretrain.RandomResizedCrop(backend='pillow') by < 1 grey level on average;
# backend='pillow' reproduces mmpretrain's pixels exactly (docs/en/input_pipeline.md).
train_pipeline = [
    dict(type='LoadCXRImage', channels=1),
    dict(type='CXRRandomResizedCrop', scale=img_size, crop_ratio_range=(0.6, 1.0),
         backend='cv2', interpolation='bicubic', channels=1),
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]
# evaluation: the same one grey channel (Pillow resizes each band alike, so the model gets
# the values of a 3-channel load)
test_pipeline = [
    dict(type='LoadCXRImage', channels=1),
    dict(type='mmpretrain.ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]

# Loader settings that keep a GPU fed: 8 workers per GPU (docs/en/input_pipeline.md has a
# worker's rate on the converter's 256 px copies: JPEGs, or PGMs with
# --resized-format pgm, which need no decoding and which this config reads as they are),
# kept alive between epochs, 4 batches queued per worker, pinned host memory for
# asynchronous copies to the GPU.
# image_report_collate hands each text field of a batch over, pins it and copies it to the
# GPU as one (B, ...) block instead of one tensor per sample.
train_dataloader = dict(
    batch_size=32,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    prefetch_factor=4,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='medvlp.image_report_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mimic_cxr.json',
        data_prefix=dict(img_path=''),
        split='train',
        pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    prefetch_factor=4,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='medvlp.image_report_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/mimic_cxr.json',
        data_prefix=dict(img_path=''),
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
# JoImTeRNet's protocol: retrieval on 5 random subsets of 1,000 image-report pairs.
test_evaluator = dict(
    type='ImageReportRetrievalMetric', topk=(1, 5, 10), subset_size=1000, num_subsets=5)
test_cfg = dict(type='TestLoop')
# the same loader on the official validation split
val_dataloader = dict(test_dataloader, dataset=dict(test_dataloader['dataset'], split='validate'))
val_evaluator = test_evaluator
val_cfg = dict(type='ValLoop')
