# Copyright (c) medvlp contributors. All rights reserved.
"""Runs the examples of docs/en/user_guides/inference.md as written, on a demo checkpoint."""
import contextlib
import importlib.util
import io
import json
import re
import runpy
import shlex

import pytest

pytestmark = pytest.mark.slow
GUIDE = 'docs/en/user_guides/inference.md'
DOC_CHECKPOINT = 'work_dirs/demo/epoch_30.pth'
DOC_OUTPUTS = 'work_dirs/demo/'


def _guide(repo_root, checkpoint, out_dir):
    text = (repo_root / GUIDE).read_text()
    return text.replace(DOC_CHECKPOINT, str(checkpoint)).replace(DOC_OUTPUTS, f'{out_dir}/')


def test_python_examples_run(repo_root, demo_pretrain_checkpoints, tmp_path):
    text = _guide(repo_root, demo_pretrain_checkpoints['medim'], tmp_path)
    blocks = re.findall(r'```python\n(.*?)```', text, flags=re.S)
    assert len(blocks) == 5
    script = tmp_path / 'guide.py'
    script.write_text('\n'.join(blocks))
    # run as a script from the repository root, in this process (a subprocess would add
    # 5-10 s of imports); an exception in the examples fails the test with its traceback
    printed_out = io.StringIO()
    with contextlib.chdir(repo_root), contextlib.redirect_stdout(printed_out):
        runpy.run_path(str(script), run_name='__main__')
    stdout = printed_out.getvalue()
    for printed in ('torch.Size([8, 64])', 'torch.Size([8, 36, 64])', 'torch.Size([64])',
                    "['Small', 'left', 'pleural', 'effusion', '.']", "'Atelectasis'"):
        assert printed in stdout, printed
    assert (tmp_path / 'notes.index.pth').is_file()
    assert sorted(p.name for p in (tmp_path / 'explain').iterdir()) == [
        '000001-1_attention.png', '000001-1_masks.png']
    # the prompt file shown in the guide is a valid prompt file
    from medvlp.models.classifiers import load_prompts
    example = json.loads(re.search(r'```json\n(.*?)```', text, flags=re.S).group(1))
    assert list(load_prompts(example)) == ['Pleural Effusion']


def test_command_line_examples_run(repo_root, demo_pretrain_checkpoints, tmp_path, run_tool,
                                   capsys):
    text = _guide(repo_root, demo_pretrain_checkpoints['medim'], tmp_path)
    commands = [shlex.split(line.replace('\\\n', ' '))
                for block in re.findall(r'```bash\n(.*?)```', text, flags=re.S)
                for line in block.replace('\\\n', ' ').splitlines() if line.strip()]
    infer_cmds = [c for c in commands if c[1] == 'tools/infer.py']
    assert [c[2] for c in infer_cmds] == ['embed', 'retrieve', 'zero-shot', 'explain']
    spec = importlib.util.spec_from_file_location('infer_tool', repo_root / 'tools/infer.py')
    infer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(infer)
    for command in infer_cmds:
        infer.main(command[2:])
    out = tmp_path / 'infer'
    feats = json.loads((out / 'feats.json').read_text())
    assert len(feats['images'][0]['global_feat']) == 64
    assert feats['reports'][0]['words'] == ['Left', 'pleural', 'effusion', '.']
    hits = json.loads((out / 'hits.json').read_text())
    assert [h['kind'] for h in hits] == ['image'] and len(hits[0]['hits']) == 3
    assert hits[0]['hits'][0]['id']  # a demo study id
    scores = json.loads((out / 'zero_shot.json').read_text())
    assert scores['classes'] == ['COVID-19'] and len(scores['predictions']) == 100
    assert (out / 'notes.index.pth').is_file()
    from PIL import Image
    for name in ('000001-1_attention.png', '000001-1_masks.png'):
        assert Image.open(out / name).size[0] > 500, name

    # a file that is not an image: one line, exit status 2
    not_image = tmp_path / 'scan.png'
    not_image.write_text('not an image')
    with pytest.raises(SystemExit) as e:
        infer.main(['zero-shot', *infer_cmds[2][3:5], '--images', str(not_image), '--out',
                    str(tmp_path / 'x.json')])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and err.startswith('infer.py: error: image 0 is not a readable')
    assert '\n' not in err

    test_cmd = next(c for c in commands if c[1] == 'tools/test.py')
    run_tool('test.py', *test_cmd[2:], '--work-dir', tmp_path / 'test')
    metrics = json.loads((tmp_path / 'zero_shot.json').read_text())
    assert set(metrics) == {'cls/auc', 'cls/auc_COVID-19', 'cls/f1', 'cls/accuracy'}
    assert 0 <= metrics['cls/auc'] <= 1
