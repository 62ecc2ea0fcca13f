# Zero-shot COVID-19 classification of the embedded demo X-rays (demo/cxr, labels from the
# covid-cxr `finding` column) with a demo JoImTeRNet checkpoint and the shipped 'covid'
# prompts; no training. `python tools/test.py THIS_CONFIG CHECKPOINT` prints the AUROC.
_base_ = [
    '../_base_/models/joimternet_vit-tiny-p16.py',
    '../_base_/datasets/demo_cxr_report.py',
    '../_base_/default_runtime.py',
]

classes = ['COVID-19']
model = dict(
    _delete_=True,
    type='ZeroShotClassifier',
    model={{_base_.model}},
    prompts='covid',
    classes=classes,
    text_pipeline=[dict(type='TokenizeReport', max_length={{_base_.max_length}})])

test_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.ResizeEdge', scale={{_base_.img_size}}, edge='short',
         backend='pillow', interpolation='bicubic'),
    dict(type='mmpretrain.CenterCrop', crop_size={{_base_.img_size}}),
    dict(type='PackImageReportInputs'),
]
test_dataloader = dict(
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
        pipeline=test_pipeline,
        test_mode=True))
test_evaluator = dict(_delete_=True, type='MultiLabelAUROC')
test_cfg = dict(type='TestLoop')
train_dataloader = None
train_cfg = None
val_dataloader = None
val_cfg = None
val_evaluator = None
