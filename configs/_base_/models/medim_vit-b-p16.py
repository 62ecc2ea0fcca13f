# MedIM at full size: the encoders and alignment head of joimternet_vit-b-p16.py (ViT-B/16
# at 224 px, 6-layer BERT on the MIMIC WordPiece vocabulary, 256-d shared space), without
# MLM, plus KWM and SDM masks (median split: 90% of the upper, 10% of the lower half) and a
# SETR-style decoder restoring the masked features. Loss weights: alignment 1, each
# reconstruction 5.
_base_ = ['./joimternet_vit-b-p16.py']

model = dict(
    type='MedIM',
    mlm_head=None,
    task_weights=dict(matching=1.0),
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
    loss_weights=dict(kwm=5.0, sdm=5.0))
