# Lung segmentation on cxr-mini, encoder frozen: seg_upernet_vit-tiny-p16_1xb8-120it_cxr-
# mini.py with every ViT stage frozen (patch embedding, blocks, final norm), so only the
# UPerNet neck and head learn from the masks: what the pre-trained features hold.
_base_ = ['./seg_upernet_vit-tiny-p16_1xb8-120it_cxr-mini.py']

model = dict(backbone=dict(frozen_stages=4))
