# Plain mmpretrain MAE on the cxr-mini development images (their notes unused): the same
# 4-layer 96-d ViT at 96 px as the other cxr-mini methods, 75% random masking, a 1-layer
# 64-d decoder, the same crops, schedule and epochs.
_base_ = [
    '../../_base_/models/mae_vit-tiny-p16.py',
    '../../_base_/schedules/adamw_cosine_cxr-mini.py',
    '../../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(arch=dict(embed_dims=96, num_layers=4, num_heads=3,
                            feedforward_channels=192)),
    neck=dict(embed_dim=96, decoder_embed_dim=64, decoder_depth=1, decoder_num_heads=2))
train_pipeline = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=96, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='mmpretrain.PackInputs'),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageReportDataset',  # the images of pretrain.jsonl, as the others see them
        data_root='{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/cxr_mini/data}}/',
        ann_file='pretrain.jsonl',
        data_prefix=dict(img_path=''),
        pipeline=train_pipeline))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=-1, save_last=True))
