# JoImTeRNet on MIMIC-CXR with the official code's DAMSM and triplet losses (the `official`
# preset): joimternet_vit-b-p16_8xb32-50e_mimic.py with the options of
# ../_base_/models/joimternet_official.py. Every difference is listed in
# docs/en/user_guides/region_word_alignment.md, "Departures from the official code".
#   bash tools/dist_train.sh \
#       configs/joimternet/joimternet_vit-b-p16_8xb32-50e_mimic_official.py 8 --amp
_base_ = [
    './joimternet_vit-b-p16_8xb32-50e_mimic.py', '../_base_/models/joimternet_official.py'
]

model = {{_base_.joimternet_official}}
