# Copyright (c) medvlp contributors. All rights reserved.
"""Remote checkpoints (http(s) and mmengine's model-zoo schemes) through the safe loader.

mmengine loads ``http(s)://`` checkpoints with ``torch.hub.load_state_dict_from_url``, which
unpickles with ``weights_only=False``: a file served from anywhere can run code. medvlp
replaces those loaders: the file is downloaded into a cache folder (rank 0 first, the other
ranks after a barrier), optionally checked against a pinned sha256, and then loaded with
:func:`medvlp.utils.checkpoint.load_checkpoint_file`, exactly as a local file.

Pinning a sha256:

* torch hub's convention: a file name ``name-<hex prefix>.pth`` (at least 8 hex digits after
  the last ``-``) must hash to a digest starting with that prefix;
* explicitly: append ``#sha256=<hex>`` to the URL
  (``checkpoint='https://host/mae.pth#sha256=3f2a...'``).

A mismatch raises :class:`~medvlp.utils.checkpoint.CorruptCheckpointError` and the file is
deleted. The cache folder is ``$MEDVLP_CACHE/checkpoints`` (default
``~/.cache/medvlp/checkpoints``).
"""
import os
import os.path as osp
import re
import tempfile
from typing import Any, Callable, Optional, Tuple, Union
from urllib.parse import urlparse

import torch
from mmengine.dist import get_dist_info
from mmengine.logging import print_log
from mmengine.runner import checkpoint as mm_ckpt

from .checkpoint import (CorruptCheckpointError, check_sha256, load_checkpoint_bytes,
                         load_checkpoint_file)

_HUB_HASH = re.compile(r'-([a-f0-9]{8,64})\.')
MapLocation = Optional[Union[str, Callable]]


def checkpoint_cache_dir() -> str:
    """Where downloaded checkpoints are kept."""
    root = os.environ.get('MEDVLP_CACHE', osp.join(osp.expanduser('~'), '.cache', 'medvlp'))
    return osp.join(root, 'checkpoints')


def split_pinned_url(url: str) -> Tuple[str, Optional[str]]:
    """``(url without fragment, pinned sha256 or None)``.

    The pin comes from a ``#sha256=<hex>`` fragment, else from a torch-hub style file name
    ``name-<hex>.ext``.
    """
    base, _, fragment = url.partition('#')
    match = re.fullmatch(r'sha256=([0-9a-fA-F]+)', fragment) if fragment else None
    if fragment and match is None:
        raise CorruptCheckpointError(
            f'checkpoint URL "{url}": the only fragment medvlp understands is #sha256=<hex>')
    if match:
        return base, match.group(1).lower()
    hub = _HUB_HASH.search(osp.basename(urlparse(base).path))
    return base, hub.group(1) if hub else None


def download_checkpoint(url: str, model_dir: Optional[str] = None,
                        progress: bool = True) -> str:
    """Download ``url`` (once) into the cache and return the local path.

    A cached file is reused only if it passes the pinned sha256 (when there is one). The
    download goes to a temporary name and is renamed when complete, so an interrupted
    download never looks like a checkpoint.
    """
    base, pinned = split_pinned_url(url)
    model_dir = model_dir or checkpoint_cache_dir()
    os.makedirs(model_dir, exist_ok=True)
    name = osp.basename(urlparse(base).path) or 'checkpoint.pth'
    target = osp.join(model_dir, name)
    if osp.isfile(target) and pinned:
        try:
            check_sha256(target, pinned, source=base)
        except CorruptCheckpointError:
            print_log(f'cached {target} does not match the pinned sha256; downloading again',
                      logger='current', level=30)
            os.remove(target)
    if not osp.isfile(target):
        print_log(f'downloading {base} to {target}', logger='current')
        fd, tmp = tempfile.mkstemp(dir=model_dir, prefix=f'.{name}.', suffix='.part')
        os.close(fd)
        try:
            torch.hub.download_url_to_file(base, tmp, hash_prefix=None, progress=progress)
            if pinned:
                check_sha256(tmp, pinned, source=base)
            os.replace(tmp, target)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
    return target


def load_from_http_safe(filename: str, map_location: MapLocation = None,
                        model_dir: Optional[str] = None) -> Any:
    """mmengine's http(s) loader, downloading first and loading with the safe loader."""
    rank, world_size = get_dist_info()
    progress = os.isatty(0)
    if rank == 0:
        path = download_checkpoint(filename, model_dir, progress)
    if world_size > 1:
        torch.distributed.barrier()
        if rank > 0:
            path = download_checkpoint(filename, model_dir, progress)
    return load_checkpoint_file(path, map_location)


def load_from_torchvision_safe(filename: str, map_location: MapLocation = None) -> Any:
    """``torchvision://name`` and ``modelzoo://name`` through the safe http loader."""
    name = filename.split('://', 1)[1]
    urls = mm_ckpt.get_torchvision_models()
    if name not in urls:
        raise KeyError(f'{filename}: torchvision has no model "{name}"')
    return load_from_http_safe(urls[name], map_location)


def load_from_openmmlab_safe(filename: str, map_location: MapLocation = None) -> Any:
    """``open-mmlab://name`` (mmengine's model zoo) through the safe loaders."""
    name = filename.split('://', 1)[1]
    name = mm_ckpt.get_deprecated_model_names().get(name, name)
    urls = mm_ckpt.get_external_models()
    if name not in urls:
        raise KeyError(f'{filename}: the OpenMMLab model zoo has no model "{name}"')
    url = urls[name]
    if url.startswith(('http://', 'https://')):
        return load_from_http_safe(url, map_location)
    return load_checkpoint_file(osp.join(mm_ckpt._get_mmengine_home(), url), map_location)


def load_from_mmcls_safe(filename: str, map_location: MapLocation = None) -> Any:
    """``mmcls://name`` through the safe http loader."""
    name = filename[len('mmcls://'):]
    urls = mm_ckpt.get_mmcls_models()
    if name not in urls:
        raise KeyError(f'{filename}: the mmcls model zoo has no model "{name}"')
    return mm_ckpt._process_mmcls_checkpoint(load_from_http_safe(urls[name], map_location))


def load_from_pavi_safe(filename: str, map_location: MapLocation = None) -> Any:
    """``pavi://`` model-cloud files, downloaded then loaded with the safe loader."""
    try:
        from pavi import modelcloud
    except ImportError as e:
        raise ImportError('install pavi to load checkpoints from pavi://') from e
    model = modelcloud.get(filename[len('pavi://'):])
    with tempfile.TemporaryDirectory() as tmp_dir:
        path = osp.join(tmp_dir, model.name)
        model.download(path)
        return load_checkpoint_file(path, map_location)


def load_from_ceph_safe(filename: str, map_location: MapLocation = None,
                        backend: str = 'petrel') -> Any:
    """``s3://`` / ``petrel://`` objects, read into memory and loaded safely."""
    from mmengine.fileio import get_file_backend
    data = get_file_backend(filename, backend_args={'backend': backend}).get(filename)
    return load_checkpoint_bytes(data, filename, map_location)


def register_remote_schemes() -> None:
    """Replace every remote loader mmengine registers with the safe ones above."""
    register = mm_ckpt.CheckpointLoader.register_scheme
    register(prefixes=('http://', 'https://'), loader=load_from_http_safe, force=True)
    register(prefixes=('modelzoo://', 'torchvision://'), loader=load_from_torchvision_safe,
             force=True)
    register(prefixes=('open-mmlab://', 'openmmlab://'), loader=load_from_openmmlab_safe,
             force=True)
    register(prefixes='mmcls://', loader=load_from_mmcls_safe, force=True)
    register(prefixes='pavi://', loader=load_from_pavi_safe, force=True)
    register(prefixes=[r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], loader=load_from_ceph_safe,
             force=True)
