# Image-note pairs of the cxr-mini experiment (tools/dataset_converters/prepare_cxr_mini.py):
# pre-training on the development patients' pairs (pretrain.jsonl), image→report retrieval
# tested on the held-out patients' pairs (retrieval_test.jsonl). The demo pipelines at
# 96 px; no worker processes (the benchmark runs one single-threaded process per core).
_base_ = ['./demo_cxr_report.py']

data_root = '{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/cxr_mini/data}}/'
no_workers = dict(num_workers=0, persistent_workers=False)
train_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='pretrain.jsonl'), **no_workers)
test_dataloader = dict(
    dataset=dict(data_root=data_root, ann_file='retrieval_test.jsonl'), **no_workers)
# pre-training has no validation; tools/test.py runs the retrieval test
val_dataloader = None
val_evaluator = None
val_cfg = None
