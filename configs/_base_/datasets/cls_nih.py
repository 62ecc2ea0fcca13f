# NIH ChestX-ray14: the 112,120 PNGs in one folder (images_*/ merged); MRM's official
# lists are shipped with medvlp (split/fraction pick one).
_base_ = ['./cls_cxr.py']

dataset_type = 'NIHChestXray14Dataset'
data_root = 'data/nih/images'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
