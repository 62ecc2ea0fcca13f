# MedIM pre-training on MIMIC-CXR: ViT-B/16 at 224 px, 8 GPUs x 18 images (144 per step),
# 50 epochs, AdamW (lr 1.5e-4, wd 0.05) with cosine decay after 5 warm-up epochs.
#   bash tools/dist_train.sh configs/medim/medim_vit-b-p16_8xb18-50e_mimic.py 8 --amp
# Other layouts: keep the total with --cfg-options train_dataloader.batch_size=...
# or rescale the learning rate with --auto-scale-lr (base batch 144).
_base_ = [
    '../_base_/models/medim_vit-b-p16.py',
    '../_base_/datasets/mimic_cxr_report.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

train_dataloader = dict(batch_size=18)
optim_wrapper = dict(optimizer=dict(lr=1.5e-4, betas=(0.9, 0.95)))
auto_scale_lr = dict(base_batch_size=144)
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=5, max_keep_ckpts=3))
