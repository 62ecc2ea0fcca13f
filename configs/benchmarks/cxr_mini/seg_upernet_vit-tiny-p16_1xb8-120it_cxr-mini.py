# Lung segmentation on cxr-mini, encoder fine-tuned: the UPerNet demo recipe (tiny ViT with
# layer decay 0.65) on the development patients' lung masks for 120 steps of 8, tested on
# the held-out patients' (per-image Dice, last weights). Weights:
#   --cfg-options model.backbone.init_cfg.checkpoint=PATH
_base_ = ['../segmentation/upernet_vit-tiny-p16_1xb8-120it_covid-lung-96px.py']

data_root = '{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/cxr_mini/data}}/'
max_iters = 120
no_workers = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='seg/train.txt'),
                        **no_workers)
test_dataloader = dict(
    batch_size=8, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='medvlp.LungMaskDataset', data_root=data_root, ann_file='seg/test.txt',
                 pipeline={{_base_.test_pipeline}}),
    **no_workers)
val_dataloader = None
val_evaluator = None
val_cfg = None
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=20),
    dict(type='PolyLR', power=1.0, eta_min=0.0, by_epoch=False, begin=20, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters + 1)
default_hooks = dict(
    checkpoint=dict(_delete_=True, type='CheckpointHook', by_epoch=False, interval=-1,
                    save_last=True),
    logger=dict(interval=50))
