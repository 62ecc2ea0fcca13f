# Linear probe with the tiny demo ViT: cls_vit-b-p16_linear-probe.py at demo size (4 frozen
# layers, 96-d, 96 px).
_base_ = ['./cls_vit-tiny-p16.py']

model = dict(
    backbone=dict(
        out_type='cls_token',
        final_norm=True,
        frozen_stages=4,
        drop_path_rate=0.0,
        drop_rate=0.0))
