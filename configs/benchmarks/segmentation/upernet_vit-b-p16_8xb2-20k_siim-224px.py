# The 512 px UPerNet recipe at 224 px (the pre-training resolution: no position-embedding
# interpolation needed).
_base_ = ['./upernet_vit-b-p16_8xb2-20k_siim-512px.py']

crop_size = (224, 224)
model = dict(data_preprocessor=dict(size=crop_size), backbone=dict(img_size=crop_size))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=True),
    dict(type='medvlp.LoadSegAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
