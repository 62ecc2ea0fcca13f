# The clean ablation of MedIM on cxr-mini: medim_vit-tiny-p16_1xb16-30e_cxr-mini.py with
# both mask generators drawing uniformly random masks of the same size (RandomMaskRule,
# 50%: 18 of the 36 patches, as MedianSplitMaskRule's 16 + 2). The report still trains the
# alignment; only where the masks fall differs.
_base_ = ['./medim_vit-tiny-p16_1xb16-30e_cxr-mini.py']

random_rule = dict(_delete_=True, type='RandomMaskRule', mask_ratio=0.5)
model = dict(
    kwm_generator=dict(mask_rule=random_rule),
    sdm_generator=dict(mask_rule=random_rule))
