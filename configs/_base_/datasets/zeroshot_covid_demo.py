# Zero-shot evaluation data: the embedded demo X-rays (demo/cxr) labelled COVID-19 or not by
# the covid-cxr `finding` column, scored with MultiLabelAUROC; test only, no training.
_base_ = ['./demo_cxr_report.py']

classes = ['COVID-19']
zero_shot_test_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.ResizeEdge', scale={{_base_.img_size}}, edge='short',
         backend='pillow', interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size={{_base_.img_size}}),
    dict(type='PackImageReportInputs'),
]
test_dataloader = dict(
    _delete_=True,
    batch_size=25,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageReportDataset',
        data_root='demo/cxr/',
        ann_file='annotations.jsonl',
        classes=classes,
        pipeline=zero_shot_test_pipeline,
        test_mode=True))
test_evaluator = dict(_delete_=True, type='MultiLabelAUROC')
test_cfg = dict(type='TestLoop')
train_dataloader = None
train_cfg = None
val_dataloader = None
val_cfg = None
val_evaluator = None
