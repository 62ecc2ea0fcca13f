# Copyright (c) medvlp contributors. All rights reserved.
"""tools/analysis_tools/count_parameters.py: totals and per-submodule rows of a config."""
import importlib.util
import re

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from tool_calls import call_tool

TOOL = 'analysis_tools/count_parameters.py'
FULL = 'configs/mrm/mrm_vit-b_mimic.py'
TINY = 'configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py'
#: The full-size MRM (documented in docs/en/user_guides/mrm.md).
FULL_SIZE_TOTAL = 151_458_097


@pytest.fixture(scope='module')
def tool(repo_root):
    spec = importlib.util.spec_from_file_location('count_parameters',
                                                  repo_root / 'tools' / TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(printed):
    rows = {}
    for line in printed.splitlines():
        match = re.fullmatch(r'(\S.*?)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)', line)
        if match:
            rows[match.group(1)] = int(match.group(2).replace(',', ''))
    return rows


@pytest.mark.slow
def test_full_size_mrm_is_counted_on_the_meta_device():
    proc = call_tool(TOOL, FULL)
    rows = _rows(proc.stdout)
    assert 'MRM parameters' in proc.stdout
    assert rows['total'] == FULL_SIZE_TOTAL
    assert sum(v for k, v in rows.items() if k != 'total') == rows['total']
    assert rows['backbone'] == 85_798_656  # ViT-B/16 at 224 px
    assert {'neck', 'text_encoder', 'fusion', 'mlm_head'} <= set(rows)


def test_counts_match_a_model_built_on_cpu(tool, repo_root, capsys):
    from medvlp.registry import MODELS
    rows = tool.main([str(repo_root / TINY), '--device', 'cpu',
                      '--cfg-options', 'model.fusion.type=AttentionPoolFusion'])
    printed = capsys.readouterr().out
    cfg = Config.fromfile(str(repo_root / TINY))
    cfg.model.fusion.type = 'AttentionPoolFusion'
    with DefaultScope.overwrite_default_scope('medvlp'):
        model = MODELS.build(cfg.model)
    counts = {name: (total, trainable) for name, total, trainable in rows}
    assert counts['total'] == (sum(p.numel() for p in model.parameters()),
                               sum(p.numel() for p in model.parameters() if p.requires_grad))
    assert counts['fusion'][0] == sum(p.numel() for p in model.fusion.parameters())
    # MAE's fixed sin-cos position embeddings are parameters but not trainable
    assert counts['backbone'][0] - counts['backbone'][1] == model.backbone.pos_embed.numel()
    assert _rows(printed)['total'] == counts['total'][0]


@pytest.mark.parametrize('config, message', [
    ('configs/mrm/no_such_config.py', 'does not exist'),
    ('configs/_base_/default_runtime.py', 'defines no model'),
])
def test_bad_config_is_a_one_line_error(tool, repo_root, capsys, config, message):
    with pytest.raises(SystemExit) as exit_info:
        tool.main([str(repo_root / config)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith('count_parameters.py: error: ') and message in err
