# MRM's SIIM recipe on 1% of the training images (medvlp's nested, stratified list).
_base_ = ['./mrm_upernet_vit-b-p16_8xb2-160k_siim-512px.py']
train_dataloader = dict(dataset=dict(ann_file='splits/train_1pct.txt'))
