# The cxr-mini pre-training schedule: the CPU demos' schedule (AdamW lr 1e-3, base batch 16,
# 2 warm-up epochs, cosine decay over 30 epochs) with MAE's betas (0.9, 0.95); no
# validation during pre-training.
_base_ = ['./adamw_cosine_30e_demo.py']

optim_wrapper = dict(optimizer=dict(betas=(0.9, 0.95)))
train_cfg = dict(_delete_=True, type='EpochBasedTrainLoop', max_epochs={{_base_.max_epochs}})
