# Linear probe model: cls_vit-b-p16.py with the whole encoder frozen (frozen_stages = depth),
# the normalised class token as the feature (MedIM / MGCA protocol; the pre-trained final
# norm is reused, so only the head is new) and no stochastic depth or dropout. mmpretrain's
# ViT puts frozen layers back in train mode with the model, so drop_path_rate and drop_rate
# must be 0 for the frozen features to be deterministic.
_base_ = ['./cls_vit-b-p16.py']

model = dict(
    backbone=dict(
        out_type='cls_token',
        final_norm=True,
        frozen_stages=12,
        drop_path_rate=0.0,
        drop_rate=0.0))
