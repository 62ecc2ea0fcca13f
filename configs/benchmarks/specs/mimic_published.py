# The published setting (GPU cluster): MIMIC-CXR pre-training of each method, then MRM's
# full fine-tune on NIH ChestX-ray14, CheXpert and RSNA Pneumonia at 1/10/100% of the
# labels and UperNet on SIIM-ACR pneumothorax at 10/100%, seeds 42/0/1 (BenchX's).
#
#   bash tools/dist_train.sh ...   # not needed: the runner launches every cell itself
#   python tools/benchmark.py configs/benchmarks/specs/mimic_published.py \
#       --launcher slurm --partition PARTITION --gpus 8
#
# Prepare the data first (docs/en/user_guides/prepare_data.md, downstream_classification.md,
# segmentation.md); the recipes read data/mimic-cxr, data/nih, data/chexpert, data/rsna and
# data/siim. Published numbers (MRM, ICLR 2023, mean AUC / Dice, one run each) are listed in
# `published` for the docs table; they are what the papers report, not measured here.
name = 'mimic-published'
description = ('MIMIC-CXR pre-training, MRM fine-tune protocol on NIH/CheXpert/RSNA at '
               '1/10/100% and SIIM at 10/100%, seeds 42/0/1.')
launcher = dict(type='slurm', gpus=8)

methods = dict(
    random=None,
    medim=dict(config='configs/medim/medim_vit-b-p16_8xb18-50e_mimic.py'),
    mrm=dict(config='configs/mrm/mrm_vit-b_mimic.py'),
    joimternet=dict(config='configs/joimternet/joimternet_vit-b-p16_8xb32-50e_mimic.py'),
)

cls = 'configs/benchmarks/classification'
seg = 'configs/benchmarks/segmentation'
tasks = dict(
    nih=dict(configs={0.01: f'{cls}/nih/vit-base-p16_ft_8xb12-3k_nih-1pct.py',
                      0.1: f'{cls}/nih/vit-base-p16_ft_8xb12-30k_nih-10pct.py',
                      1.0: f'{cls}/nih/vit-base-p16_ft_8xb12-200k_nih-100pct.py'},
             metrics=['cls/auc']),
    chexpert=dict(configs={0.01: f'{cls}/chexpert/vit-base-p16_ft_8xb12-2k_chexpert-1pct.py',
                           0.1: f'{cls}/chexpert/vit-base-p16_ft_8xb12-60k_chexpert-10pct.py',
                           1.0: f'{cls}/chexpert/vit-base-p16_ft_8xb12-200k_chexpert-100pct.py'},
                  metrics=['cls/auc']),
    rsna=dict(configs={0.01: f'{cls}/rsna/vit-base-p16_ft_8xb12-2k_rsna-1pct.py',
                       0.1: f'{cls}/rsna/vit-base-p16_ft_8xb12-10k_rsna-10pct.py',
                       1.0: f'{cls}/rsna/vit-base-p16_ft_8xb12-50k_rsna-100pct.py'},
              metrics=['cls/auc']),
    siim=dict(configs={0.1: f'{seg}/mrm_upernet_vit-b-p16_8xb2-160k_siim-512px-10pct.py',
                       1.0: f'{seg}/mrm_upernet_vit-b-p16_8xb2-160k_siim-512px.py'},
              metrics=['fg_dice']),
)
seeds = [42, 0, 1]

# What MRM (ICLR 2023) reports for its own method, one run per cell (AUC %, Dice %).
published = dict(
    mrm=dict(nih={0.01: 79.4, 0.1: 84.0, 1.0: 85.9},
             chexpert={0.01: 88.5, 0.1: 88.5, 1.0: 88.7},
             rsna={0.01: 91.3, 0.1: 92.7, 1.0: 93.3},
             siim={0.1: 73.2, 1.0: 91.4}),
)
