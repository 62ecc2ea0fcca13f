# The ViT-B UPerNet at CPU-test size: the image encoder of medvlp's demo pre-training
# configs (embed 96, 4 layers, 3 heads, 96 px), so their checkpoints load into it, and BN
# instead of SyncBN for single-process runs.
_base_ = ['./seg_upernet_vit-b-p16.py']

crop_size = (96, 96)
embed_dims = 96
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    data_preprocessor=dict(size=crop_size),
    backbone=dict(
        arch=dict(_delete_=True, embed_dims=embed_dims, num_layers=4, num_heads=3,
                  feedforward_channels=192),
        img_size=crop_size,
        out_indices=(0, 1, 2, 3),
        drop_path_rate=0.0),
    neck=dict(in_channels=[embed_dims] * 4, out_channels=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=32, norm_cfg=norm_cfg),
    auxiliary_head=dict(in_channels=embed_dims, channels=32, norm_cfg=norm_cfg))
