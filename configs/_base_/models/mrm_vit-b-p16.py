# MRM at the official size: a ViT-B/16 MAE encoder on 224 px images (75% of the patches
# masked), a 4-layer 768-d pixel decoder restoring the 448 px image (a 32 px patch per
# token), and a 6-layer 384-d BERT trained from scratch on the MIMIC WordPiece vocabulary,
# which predicts the masked half of the report's words with the mean of the visible image
# tokens added to every word embedding.
# Modules of other projects carry their scope: mmpretrain.MAEViT, mmpretrain.MAEPretrain*.
mrm_linear_init = [
    dict(type='Xavier', layer='Linear', distribution='uniform'),
    dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0),
]
model = dict(
    type='MRM',
    # MRM's grey-level statistics of MIMIC-CXR (0.4978 and 0.2449 on a 0-1 scale)
    data_preprocessor=dict(
        type='CXRDataPreprocessor',
        mean=[126.94, 126.94, 126.94],
        std=[62.45, 62.45, 62.45],
        to_rgb=True),
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.MAEViT',
        arch='b',
        img_size=224,
        patch_size=16,
        mask_ratio=0.75,
        init_cfg=mrm_linear_init),
    neck=dict(
        type='mmpretrain.MAEPretrainDecoder',
        num_patches=(224 // 16)**2,
        patch_size=16,
        in_chans=3,
        embed_dim=768,
        decoder_embed_dim=768,
        decoder_depth=4,
        decoder_num_heads=6,
        mlp_ratio=4.,
        init_cfg=mrm_linear_init),
    # patch_size (32) and the decoder's predict_feature_dim (32*32*3) follow from
    # target_resolution; MRM fills them in.
    head=dict(
        type='mmpretrain.MAEPretrainHead',
        norm_pix=True,
        loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2')),
    target_resolution=448,  # None: restore the 224 px input itself (plain MAE)
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=384,
        num_layers=6,
        num_heads=6,
        intermediate_size=1536,
        max_position_embeddings=100,
        max_words=100,
        # the official code applied its Xavier init to every linear layer, BERT's included
        init_cfg=mrm_linear_init),
    fusion=dict(type='MeanVisibleTokenFusion', in_channels=768, out_channels=384),
    mlm_head=dict(type='MaskedLanguageModelingHead'),
    mlm_mask_prob=0.5,
    mlm_whole_word=True,
    official_mlm_loss=False,  # True: score every position, as the official code did
    loss_weights=dict(image=1.0, text=1.0))
