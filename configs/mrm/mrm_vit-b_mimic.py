# MRM pre-training on MIMIC-CXR with the official recipe: ViT-B/16 at 224 px restoring the
# 448 px image, 6-layer BERT, 200 epochs (40 warm-up), AdamW, base lr 1.5e-4 for a total
# batch of 256 = 4 GPUs x 32 images x 2 accumulation steps.
#   bash tools/dist_train.sh configs/mrm/mrm_vit-b_mimic.py 4 --amp
_base_ = [
    '../_base_/models/mrm_vit-b-p16.py',
    '../_base_/datasets/mimic_cxr_report.py',
    '../_base_/default_runtime.py',
]

target_resolution = 448  # = model.target_resolution; the encoder sees 224 px
max_length = 100  # official report length in tokens, [CLS] and [SEP] included
# One grey channel is decoded, cropped and resized, then repeated to 3: the pixels of
# mmpretrain.RandomResizedCrop(backend='pillow') on a 3-channel load, bit for bit, at a
# third of the cost (docs/en/input_pipeline.md).
train_pipeline = [
    dict(type='LoadCXRImage', channels=1),
    dict(type='CXRRandomResizedCrop', scale=target_resolution,
         crop_ratio_range=(0.2, 1.0), backend='pillow', interpolation='bicubic',
         channels=1),  # one channel to the GPU, where CXRDataPreprocessor repeats it
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),  # as the official code
    dict(type='TokenizeReport', max_length=max_length),
    dict(type='PackImageReportInputs'),
]
train_dataloader = dict(
    batch_size=32,  # per GPU
    num_workers=10,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
# pre-training only: no validation or test loop
val_dataloader = None
val_evaluator = None
val_cfg = None
test_dataloader = None
test_evaluator = None
test_cfg = None

# lr = base lr x total batch / 256 = 1.5e-4 x (4 x 32 x 2) / 256
num_gpus, accumulation = 4, 2
total_batch = num_gpus * 32 * accumulation
max_epochs = 200
warmup_epochs = 40
optim_wrapper = dict(
    type='OptimWrapper',  # tools/train.py --amp makes it AmpOptimWrapper (official: AMP)
    accumulative_counts=accumulation,
    optimizer=dict(
        type='AdamW', lr=1.5e-4 * total_batch / 256, betas=(0.9, 0.95), weight_decay=0.05),
    # no weight decay on biases and norm weights (every 1-D parameter), as timm's
    # add_weight_decay in the official code
    paramwise_cfg=dict(flat_decay_mult=0.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs, eta_min=0.0,
         by_epoch=True, begin=warmup_epochs, end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
# The lr above is for 256 images per optimizer step. mmengine's --auto-scale-lr counts
# GPUs x batch_size and ignores accumulative_counts: leave it off for 4 x 32 x 2.
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=20, max_keep_ckpts=3))
