# SIIM-ACR Pneumothorax as written by tools/dataset_converters/prepare_siim.py, at 512 px
# as MRM: resize keeping the aspect ratio (1024 -> 512), random flip; padding to 512 is
# done by the model's SegDataPreProcessor (size=crop_size). Evaluated by per-image
# foreground Dice/IoU (the SIIM papers' measure) and mmseg's dataset-level IoUMetric.
dataset_type = 'medvlp.SIIMPneumothoraxDataset'
data_root = 'data/siim_png/'
scale = (512, 512)
train_ann_file = 'splits/train_100pct.txt'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=scale, keep_ratio=True),
    # after Resize: the prediction is compared at the mask's original size
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file=train_ann_file,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, ann_file='splits/val.txt',
        pipeline=test_pipeline))
test_dataloader = dict(
    val_dataloader,
    dataset=dict(val_dataloader['dataset'], ann_file='splits/test.txt'))
val_evaluator = [
    dict(type='medvlp.PerImageDiceMetric'),
    dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice']),
]
test_evaluator = val_evaluator
