# MRM, tiny for CPU demos and tests: a 4-layer 96-d MAE ViT on 96 px images (6x6 tokens),
# a 1-layer pixel decoder restoring the 192 px image (a 32 px patch per token, the
# official high-resolution target at demo scale), and a 2-layer 96-d BERT with MLM on half
# of the report's words, the visible image tokens fused into the word embeddings.
mrm_linear_init = [
    dict(type='Xavier', layer='Linear', distribution='uniform'),
    dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
]
model = dict(
    type='MRM',
    data_preprocessor=dict(
        type='mmpretrain.SelfSupDataPreprocessor',
        mean=[126.94, 126.94, 126.94],
        std=[62.45, 62.45, 62.45],
        to_rgb=True),
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.MAEViT',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192),
        img_size=96,
        patch_size=16,
        mask_ratio=0.75,
        init_cfg=mrm_linear_init),
    neck=dict(
        type='mmpretrain.MAEPretrainDecoder',
        num_patches=(96 // 16)**2,
        patch_size=16,
        in_chans=3,
        embed_dim=96,
        decoder_embed_dim=64,
        decoder_depth=1,
        decoder_num_heads=2,
        mlp_ratio=2.,
        init_cfg=mrm_linear_init),
    head=dict(
        type='mmpretrain.MAEPretrainHead',
        norm_pix=True,
        loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2')),
    target_resolution=192,  # None: restore the 96 px input itself (plain MAE)
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=96,
        num_layers=2,
        num_heads=3,
        intermediate_size=192,
        max_position_embeddings=128,
        max_words=64,
        init_cfg=mrm_linear_init),
    fusion=dict(type='MeanVisibleTokenFusion', in_channels=96, out_channels=96),
    mlm_head=dict(type='MaskedLanguageModelingHead'),
    mlm_mask_prob=0.5,
    mlm_whole_word=True,
    official_mlm_loss=False,
    loss_weights=dict(image=1.0, text=1.0))
