# Lung masks of the covid-cxr collection (shared/data/covid-cxr: V7 masks, binarised with
# > 127, all-zero lateral masks skipped), split by patient (20% of patients held out, a
# seeded hash of patientid), resized to 96 x 96 for CPU runs.
dataset_type = 'medvlp.LungMaskDataset'
data_root = '../shared/data/covid-cxr/'
scale = (96, 96)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='RandomResize', scale=scale, ratio_range=(1.0, 1.2), keep_ratio=False),
    dict(type='RandomCrop', crop_size=scale),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=False),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val',
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='medvlp.PerImageDiceMetric'),
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
]
test_evaluator = val_evaluator
