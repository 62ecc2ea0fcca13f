# JoImTeRNet on the embedded demo data (CPU) with the official code's DAMSM and triplet
# losses (the `official` preset): joimternet_vit-tiny-p16_1xb16-30e_demo.py with the options
# of ../_base_/models/joimternet_official.py.
_base_ = [
    './joimternet_vit-tiny-p16_1xb16-30e_demo.py', '../_base_/models/joimternet_official.py'
]

model = {{_base_.joimternet_official}}
