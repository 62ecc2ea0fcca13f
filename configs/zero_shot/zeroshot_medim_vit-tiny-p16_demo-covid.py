# Zero-shot COVID-19 classification of the embedded demo X-rays (demo/cxr, labels from the
# covid-cxr `finding` column) with a demo MedIM checkpoint and the shipped 'covid'
# prompts; no training. `python tools/test.py THIS_CONFIG CHECKPOINT` prints the AUROC.
_base_ = [
    '../_base_/models/medim_vit-tiny-p16.py',
    '../_base_/datasets/zeroshot_covid_demo.py',
    '../_base_/default_runtime.py',
]

model = dict(
    _delete_=True,
    type='ZeroShotClassifier',
    model={{_base_.model}},
    prompts='covid',
    classes={{_base_.classes}},
    text_pipeline=[dict(type='TokenizeReport', max_length={{_base_.max_length}})])
