# MRM's SIIM-ACR pneumothorax fine-tuning (RL4M/MRM-pytorch Siim_Segmentation), on medvlp's
# image-disjoint split: UPerNet on ViT-B/16 at 512 px with a BEiT-style Feature2Pyramid
# neck, Focal + Dice losses, AdamW with layer decay 0.65, warm-up + poly over 160k
# iterations, 8 GPUs x 2 images. MRM reports Dice 73.2 (10% labels) / 91.4 (100%)
# (published; its own split). Differences: mmseg 1.x's DiceLoss has no class_weight, so
# the Dice term covers both classes where MRM's weighted the background 0.
_base_ = [
    '../../_base_/models/seg_upernet_vit-b-p16.py',
    '../../_base_/datasets/seg_siim_512px.py',
    '../../_base_/schedules/seg_adamw-ld0.65_warmup-poly_160k.py',
    '../../_base_/seg_default_runtime.py',
]

checkpoint = 'checkpoints/mrm_vit-b-p16_pretrain.pth'  # a medvlp pre-training checkpoint
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint, prefix='backbone.')),
    neck=dict(_delete_=True, type='Feature2Pyramid', embed_dim=768, rescales=[4, 2, 1, 0.5],
              norm_cfg={{_base_.norm_cfg}}),
    decode_head=dict(
        channels=768,
        loss_decode=[
            dict(type='FocalLoss', use_sigmoid=True, loss_weight=2.0),
            dict(type='DiceLoss', use_sigmoid=False, loss_weight=1.0),
        ]),
    auxiliary_head=dict(
        in_index=2,
        loss_decode=[
            dict(type='FocalLoss', use_sigmoid=True, loss_weight=0.8),
            dict(type='DiceLoss', use_sigmoid=False, loss_weight=0.4),
        ]))
