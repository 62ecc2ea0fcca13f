# CheXpert: data_root holds CheXpert-v1.0-small/ (the list paths start with it); MRM's
# official lists are shipped with medvlp, the missing 100% list rebuilt.
_base_ = ['./cls_cxr.py']

dataset_type = 'CheXpertDataset'
data_root = 'data/chexpert'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
