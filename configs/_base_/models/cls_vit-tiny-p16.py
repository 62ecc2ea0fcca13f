# cls_vit-b-p16.py with the tiny ViT of the demo pre-training configs (4 layers, 96-d,
# 3 heads, 96 px), for CPU demos and tests.
_base_ = ['./cls_vit-b-p16.py']

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=192),
        img_size=96),
    head=dict(in_channels=96))
