# COVID-19 vs other (binary) on MRM's 5-fold lists, converted for the images you have by
#   python tools/dataset_converters/prepare_covid.py data/covid-cxr/splits \
#       data/covid-cxr/lists --images data/covid-cxr/images --metadata data/covid-cxr/metadata.csv
# (fold 1 here; other folds: ann_file=lists/covid<k>/...). As everywhere in mmengine, a
# relative ann_file and data_prefix are relative to data_root.
_base_ = ['./cls_cxr.py']

dataset_type = 'COVIDCXRDataset'
data_root = 'data/covid-cxr'
data_prefix = 'images'
lists = 'lists/covid1'
train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
        ann_file=f'{lists}/train_list.txt'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
        ann_file=f'{lists}/val_list.txt'))
test_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, data_prefix=data_prefix,
        ann_file=f'{lists}/test_list.txt'))
