# RSNA Pneumonia: data_root holds stage_2_train_images/ and stage_2_test_images/ (DICOM);
# MRM's official lists are shipped with medvlp.
_base_ = ['./cls_cxr.py']

dataset_type = 'RSNAPneumoniaDataset'
data_root = 'data/rsna'
train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
