# JoImTeRNet-style pre-training on MIMIC-CXR: ViT-B/16 + 6-layer BERT, 8 GPUs x 32.
#   bash tools/dist_train.sh configs/joimternet/joimternet_vit-b-p16_8xb32-50e_mimic.py 8 --amp
_base_ = [
    '../_base_/models/joimternet_vit-b-p16.py',
    '../_base_/datasets/mimic_cxr_report.py',
    '../_base_/schedules/adamw_cosine_50e.py',
    '../_base_/default_runtime.py',
]

optim_wrapper = dict(optimizer=dict(lr=2e-4))
# lr above is for 8 GPUs x 32 images; --auto-scale-lr rescales it for other layouts
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=5, max_keep_ckpts=3, save_best='retrieval/i2t_R@10',
                    rule='greater'))
