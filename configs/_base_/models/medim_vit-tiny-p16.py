# MedIM, tiny for CPU demos: the JoImTeRNet-style encoders and alignment head of
# joimternet_vit-tiny-p16.py, report-guided KWM and SDM masks, and a SETR-style decoder
# restoring the masked features (mask_on='features', the official variant).
_base_ = ['./joimternet_vit-tiny-p16.py']

model = dict(
    _delete_=True,
    type='MedIM',
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192),
        img_size=96,
        patch_size=16,
        out_type='raw',
        with_cls_token=True,
        final_norm=True),
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=96,
        num_layers=2,
        num_heads=3,
        max_position_embeddings=128,
        max_words=64),
    img_neck=dict(type='ImageRegionNeck', in_channels=96, out_channels=64),
    text_neck=dict(type='TextWordNeck', in_channels=96, out_channels=64),
    head=dict(type='RegionWordAlignmentHead', gamma1=4.0, gamma2=5.0, gamma3=10.0),
    mask_on='features',
    decoder=dict(type='SETRUpDecoder', in_channels=96, patch_size=16, channels=32),
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
