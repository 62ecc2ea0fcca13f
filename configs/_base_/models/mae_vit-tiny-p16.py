# A tiny MAE (mmpretrain) for CPU demos and tests: 2-layer ViT with 64-d tokens.
# ``_scope_='mmpretrain'`` builds the model and everything nested in it from mmpretrain's
# registries, so the nested types need no prefix.
img_size = 96
patch_size = 16
model = dict(
    _scope_='mmpretrain',
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='MAEViT',
        arch=dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128),
        img_size=img_size,
        patch_size=patch_size,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        in_chans=3,
        embed_dim=64,
        decoder_embed_dim=64,
        decoder_depth=1,
        decoder_num_heads=2,
        mlp_ratio=2.),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
    ])
