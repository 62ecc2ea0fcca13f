# MedIM, tiny for CPU demos: the encoders and alignment head of joimternet_vit-tiny-p16.py
# without MLM, report-guided KWM and SDM masks, and a SETR-style decoder restoring the
# masked features (mask_on='features', the official variant).
_base_ = ['./joimternet_vit-tiny-p16.py']

model = dict(
    type='MedIM',
    mlm_head=None,
    task_weights=dict(matching=1.0),
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
    loss_weights=dict(kwm=5.0, sdm=5.0))
