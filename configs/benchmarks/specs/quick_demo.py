# The runner's smoke preset (`python tools/benchmark.py --preset quick`, a test runs it):
# random init vs one epoch of MedIM demo pre-training on demo/cxr, each evaluated with a
# few iterations of the tiny covid-cxr fine-tune recipe (COVID-19 vs other AUC), one seed.
# Segmentation recipes plug in the same way (metrics=['fg_dice']; see mimic_published.py). The numbers only show that the pipeline works; the real CPU
# experiment is a separate spec.
name = 'quick'
description = ('Smoke run of the benchmark runner: 1 pre-training epoch, 4 downstream '
               'iterations, 1 seed. Not a result.')
shared = '{{$MEDVLP_SHARED_DATA:../shared/data}}'  # mmengine substitutes the variable
prepared = '{{$MEDVLP_BENCHMARK_DATA:work_dirs/benchmark/quick_data}}'

# run once before the cells (converters are deterministic; rerunning rewrites the same files)
prepare = [[
    'python', 'tools/dataset_converters/prepare_covid.py', f'{shared}/covid-cxr/splits',
    f'{prepared}/covid_lists', '--folds', '1', '--images', f'{shared}/covid-cxr/images',
    '--metadata', f'{shared}/covid-cxr/metadata.csv'
]]

no_workers = [f'{loader}_dataloader.{key}' for loader in ('train', 'val', 'test')
              for key in ('num_workers=0', 'persistent_workers=False')]
pretrain_options = ['train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1',
                    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']
methods = dict(
    random=None,
    medim=dict(config='configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
               cfg_options=pretrain_options, train_args=['--no-validate']),
)

covid_lists = f'{prepared}/covid_lists/covid1'
covid_data = []
for split in ('train', 'val', 'test'):
    covid_data += [f'{split}_dataloader.dataset.data_root={shared}/covid-cxr',  # images/
                   f'{split}_dataloader.dataset.ann_file={covid_lists}/{split}_list.txt']
short = ['train_cfg.max_iters=4', 'train_cfg.val_interval=4']
tasks = dict(
    covid_ft=dict(
        configs={1.0: 'configs/benchmarks/classification/covid/'
                      'vit-tiny-p16_ft_1xb16-60_covid-demo.py'},
        metrics=['cls/auc'],
        cfg_options=covid_data + short + no_workers),
)
seeds = [0]
