# Zero-shot AUROC of a MedIM pre-training checkpoint (configs/medim_vit-b_mimic.py) on the
# chexpert test list, from the shipped 'chexpert5' prompts (CheXpert competition classes (5)); no training:
#   python tools/test.py configs/zero_shot/zeroshot_medim_vit-b-p16_chexpert.py MEDIM_CHECKPOINT
_base_ = [
    '../_base_/models/medim_vit-b-p16.py',
    '../_base_/datasets/cls_chexpert.py',
    '../_base_/default_runtime.py',
]

max_length = 128  # TokenizeReport of the pre-training reports (mimic_cxr_report.py)
model = dict(
    _delete_=True,
    type='ZeroShotClassifier',
    model={{_base_.model}},
    prompts='chexpert5',
    text_pipeline=[dict(type='TokenizeReport', max_length=max_length)])

train_dataloader = None
train_cfg = None
val_dataloader = None
val_cfg = None
val_evaluator = None
test_cfg = dict(type='TestLoop')
