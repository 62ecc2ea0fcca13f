# MedIM at full size: ViT-B/16 image encoder (224 px), 6-layer BERT text encoder on the
# MIMIC WordPiece vocabulary, global + local alignment in a 256-d space, KWM and SDM masks
# (median split, 90% of the upper and 10% of the lower half), SETR-style decoder restoring
# the masked features. Loss weights: alignment 1, each reconstruction 5.
model = dict(
    type='MedIM',
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        out_type='raw',
        with_cls_token=True,
        final_norm=True,
        drop_path_rate=0.1),
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=768,
        num_layers=6,
        num_heads=12,
        max_position_embeddings=512,
        max_words=128),
    img_neck=dict(type='ImageRegionNeck', in_channels=768, out_channels=256),
    text_neck=dict(type='TextWordNeck', in_channels=768, out_channels=256),
    head=dict(type='RegionWordAlignmentHead', gamma1=4.0, gamma2=5.0, gamma3=10.0),
    mask_on='features',
    decoder=dict(type='SETRUpDecoder', in_channels=768, patch_size=16, channels=256),
    recon_head=dict(
        type='mmpretrain.MAEPretrainHead',
        norm_pix=True,
        patch_size=16,
        loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2')),
    kwm_generator=dict(
        type='ReportGuidedMaskGenerator',
        mode='kwm',
        mask_rule=dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=0.1)),
    sdm_generator=dict(
        type='ReportGuidedMaskGenerator',
        mode='sdm',
        min_sentence_words=3,
        mask_rule=dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=0.1)),
    loss_weights=dict(alignment=1.0, kwm=5.0, sdm=5.0))
