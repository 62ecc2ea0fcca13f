# COVID-19 vs other on the cxr-mini split (tools/dataset_converters/prepare_cxr_mini.py):
# trained on the development patients' images, tested on the held-out patients'. The demo's
# 96 px pipelines; no validation split (the recipes train a fixed number of steps and test
# their last weights, so no held-out image chooses a checkpoint).
_base_ = ['./cls_covid_demo.py']

data_root = '{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/cxr_mini/data}}'
train_dataloader = dict(dataset=dict(data_root=data_root, ann_file='cls/train_list.txt'))
test_dataloader = dict(dataset=dict(data_root=data_root, ann_file='cls/test_list.txt'))
val_dataloader = None
val_evaluator = None
