# MedIM, tiny for CPU demos: medim_vit-b-p16.py with a 4-layer 96-d ViT at 96 px, a
# 2-layer 96-d BERT, a 64-d shared space and a 32-channel decoder.
_base_ = ['./medim_vit-b-p16.py']

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=192),
        img_size=96,
        drop_path_rate=0.0),
    text_encoder=dict(
        hidden_size=96, num_layers=2, num_heads=3, max_position_embeddings=128,
        max_words=64),
    img_neck=dict(in_channels=96, out_channels=64),
    text_neck=dict(in_channels=96, out_channels=64),
    decoder=dict(in_channels=96, channels=32))
