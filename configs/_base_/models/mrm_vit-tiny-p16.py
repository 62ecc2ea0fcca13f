# MRM, tiny for CPU demos and tests: mrm_vit-b-p16.py with a 4-layer 96-d MAE ViT on 96 px
# images (6x6 tokens), a 1-layer 64-d pixel decoder restoring the 192 px image (a 32 px
# patch per token, the official high-resolution target at demo scale), and a 2-layer 96-d
# BERT with MLM on half of the report's words.
_base_ = ['./mrm_vit-b-p16.py']

model = dict(
    backbone=dict(
        arch=dict(
            _delete_=True, embed_dims=96, num_layers=4, num_heads=3,
            feedforward_channels=192),
        img_size=96),
    neck=dict(
        num_patches=(96 // 16)**2,
        embed_dim=96,
        decoder_embed_dim=64,
        decoder_depth=1,
        decoder_num_heads=2,
        mlp_ratio=2.),
    target_resolution=192,  # None: restore the 96 px input itself (plain MAE)
    text_encoder=dict(
        hidden_size=96,
        num_layers=2,
        num_heads=3,
        intermediate_size=192,
        max_position_embeddings=128,
        max_words=64),
    fusion=dict(in_channels=96, out_channels=96))
