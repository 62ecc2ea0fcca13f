# Image-report pairs of the embedded demo set (demo/cxr): 100 real X-rays with their
# clinical notes, already processed into words, sentences and MeSH matches.
dataset_type = 'ImageReportDataset'
data_root = 'demo/cxr/'
img_size = 96
max_length = 64  # tokens per report, [CLS] and [SEP] included

train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=img_size, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]
test_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.ResizeEdge', scale=img_size, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size=img_size),
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='medvlp.image_report_collate'),  # one block per text field
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations.jsonl',
        data_prefix=dict(img_path=''),
        pipeline=train_pipeline))
# The demo has no held-out split: retrieval is measured in-sample, to show the model
# learnt to pair its training images and reports.
test_dataloader = dict(
    train_dataloader,
    batch_size=25,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(train_dataloader['dataset'], test_mode=True, pipeline=test_pipeline))
test_evaluator = dict(type='ImageReportRetrievalMetric', topk=(1, 5, 10))
test_cfg = dict(type='TestLoop')
val_dataloader = test_dataloader
val_evaluator = test_evaluator
val_cfg = dict(type='ValLoop')
