# NIH ChestX-ray14: the 112,120 PNGs in one folder (images_*/ merged); MRM's official
# lists are shipped with medvlp (split/fraction pick one).
_base_ = ['./cls_cxr.py']

dataset_type = 'NIHChestXray14Dataset'
data_root = 'data/nih'
data_prefix = 'images'  # the PNGs; prepare_nih.py can write its lists to data/nih/lists
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix))
