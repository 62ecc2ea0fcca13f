# The cxr-mini CPU experiment (`python tools/benchmark.py --preset cxr-mini --jobs 2`):
# does report-guided masking beat random masking, on real X-rays and their notes?
#
# Data: shared/data/covid-cxr split once by patient (prepare_cxr_mini.py, seed 0, 30% of
# the patients held out, stratified by COVID-19 vs other). Pre-training sees only the
# development patients' image-note pairs; every test below uses only held-out patients.
# Methods: the same 4-layer 96-d ViT at 96 px, batch 16, 30 epochs, AdamW, per seed:
# random init (no pre-training), mmpretrain MAE (random masks, no text), MedIM (report-
# guided KWM + SDM masks), MedIM with random masks of the same size (only the mask source
# differs), MRM, JoImTeRNet. Tasks: COVID-19 vs other AUC (linear probe, fine-tune), lung
# per-image Dice (frozen and fine-tuned encoder), image→report retrieval on the held-out
# pairs (methods with an image-report embedding).
name = 'cxr-mini'
description = ('covid-cxr split by patient; tiny ViT (4 layers, 96-d, 96 px); 30 pre-training '
               'epochs on the 247 development image-note pairs; held-out patients only in '
               'the tests. CPU scale: 366 images are not MIMIC-CXR.')
shared = '{{$MEDVLP_SHARED_DATA:../shared/data}}'  # mmengine substitutes the variables
data = '{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/cxr_mini/data}}'

prepare = [[
    'python', 'tools/dataset_converters/prepare_cxr_mini.py', f'{shared}/covid-cxr', data,
    '--nltk-data', f'{shared}/vocab/nltk_data'
]]

folder = 'configs/benchmarks/cxr_mini'
methods = dict(
    random=None,
    mae=dict(config=f'{folder}/mae_vit-tiny-p16_1xb16-30e_cxr-mini.py'),
    medim=dict(config=f'{folder}/medim_vit-tiny-p16_1xb16-30e_cxr-mini.py'),
    medim_random_masks=dict(
        config=f'{folder}/medim-random-masks_vit-tiny-p16_1xb16-30e_cxr-mini.py'),
    mrm=dict(config=f'{folder}/mrm_vit-tiny-p16_1xb16-30e_cxr-mini.py'),
    joimternet=dict(config=f'{folder}/joimternet_vit-tiny-p16_1xb16-30e_cxr-mini.py'),
)
tasks = dict(
    covid_linear_probe=dict(
        configs={1.0: f'{folder}/cls_vit-tiny-p16_linear-probe_1xb16-120it_cxr-mini.py'},
        metrics=['cls/auc'], test_in_train=True),
    covid_finetune=dict(
        configs={1.0: f'{folder}/cls_vit-tiny-p16_ft_1xb16-120it_cxr-mini.py'},
        metrics=['cls/auc'], test_in_train=True),
    lung_frozen=dict(
        configs={1.0: f'{folder}/seg_upernet_vit-tiny-p16_frozen_1xb8-120it_cxr-mini.py'},
        metrics=['fg_dice'], test_in_train=True),
    lung_finetune=dict(
        configs={1.0: f'{folder}/seg_upernet_vit-tiny-p16_1xb8-120it_cxr-mini.py'},
        metrics=['fg_dice'], test_in_train=True),
    retrieval=dict(
        on_pretrained=True, methods=['medim', 'medim_random_masks', 'joimternet'],
        metrics=['retrieval/i2t_R@10', 'retrieval/i2t_R@5', 'retrieval/i2t_R@1']),
)
seeds = [0, 1, 2]

# --quick (the test suite runs it): one seed, one pre-training epoch on 32 pairs, 4
# downstream steps, 24 test images; the numbers only show that every cell works
quick = dict(
    seeds=[0],
    method_options=['train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=32'],
    task_options=['train_cfg.max_iters=4', 'test_dataloader.dataset.indices=24'])
