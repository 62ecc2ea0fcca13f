# Copyright (c) medvlp contributors. All rights reserved.
"""Measure how many chest X-rays per second one CPU core decodes and resizes.

It times medvlp's ``LoadCXRImage`` followed by mmcv's ``Resize`` (the first two steps of
every training pipeline) on real images in three forms:

* the PNGs of a folder (default: ``../shared/data/covid-cxr/images``, at most 512 px);
* JPEG copies of the same images (quality 95, as MIMIC-CXR-JPG ships them);
* "full-size" JPEGs, the same images upscaled to MIMIC-CXR-JPG's typical size
  (2544 x 3056), to show what the training loader faces without
  ``prepare_mimic_cxr.py --resize``;
* the full-size JPEGs reduced with the converter's own ``--resize 512`` code, which is
  what the loader reads after pre-resizing.

Example::

    python tools/analysis_tools/benchmark_image_pipeline.py --num-images 40
"""
import argparse
import os
import os.path as osp
import sys
import tempfile
import time
from typing import List

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'dataset_converters'))
from medvlp.utils.sysinfo import machine_summary  # noqa: E402

DEFAULT_IMAGES = osp.normpath(osp.join(
    osp.dirname(osp.abspath(__file__)), '..', '..', '..', 'shared', 'data', 'covid-cxr', 'images'))
FULL_SIZE = (2544, 3056)  # width, height of a typical MIMIC-CXR-JPG PA image


def make_jpegs(sources: List[str], folder: str, size=None) -> List[str]:
    """Write greyscale JPEG copies (optionally resized to ``size``) of ``sources``."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    paths = []
    for src in sources:
        dst = osp.join(folder, osp.splitext(osp.basename(src))[0] + '.jpg')
        with Image.open(src) as img:
            img = img.convert('L')
            if size is not None:
                img = img.resize(size, Image.Resampling.BICUBIC)
            img.save(dst, format='JPEG', quality=95)
        paths.append(dst)
    return paths


def time_pipeline(paths: List[str], scale: int, repeats: int) -> float:
    """Images per second of LoadCXRImage + mmcv Resize over ``paths``."""
    from mmcv.transforms import Resize

    from medvlp.datasets.transforms import LoadCXRImage
    load, resize = LoadCXRImage(), Resize(scale=(scale, scale))
    load(dict(img_path=paths[0]))  # warm up
    start = time.perf_counter()
    for _ in range(repeats):
        for path in paths:
            resize(load(dict(img_path=path)))
    return repeats * len(paths) / (time.perf_counter() - start)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', default=DEFAULT_IMAGES,
                        help='folder of real PNG/JPEG chest X-rays')
    parser.add_argument('--num-images', type=int, default=40,
                        help='images per form (default: 40)')
    parser.add_argument('--scale', type=int, default=224, help='Resize target (default: 224)')
    parser.add_argument('--repeats', type=int, default=2,
                        help='passes over the small images (default: 2)')
    parser.add_argument('--skip-full-size', action='store_true',
                        help='leave out the slow full-size JPEGs')
    args = parser.parse_args(argv)

    import cv2
    cv2.setNumThreads(1)  # one core, as in a dataloader worker
    from prepare_mimic_cxr import resize_image

    names = sorted(f for f in os.listdir(args.images)
                   if f.lower().endswith(('.png', '.jpg', '.jpeg')))[:args.num_images]
    if not names:
        raise SystemExit(f'no images in {args.images}')
    sources = [osp.join(args.images, n) for n in names]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        jpegs = make_jpegs(sources, osp.join(tmp, 'jpeg'))
        rows.append(('PNG, as stored (<=512 px)', time_pipeline(sources, args.scale,
                                                                args.repeats)))
        rows.append(('JPEG copies (<=512 px)', time_pipeline(jpegs, args.scale,
                                                             args.repeats)))
        if not args.skip_full_size:
            full = make_jpegs(sources, osp.join(tmp, 'full'), size=FULL_SIZE)
            label = f'full-size JPEG ({FULL_SIZE[0]}x{FULL_SIZE[1]})'
            rows.append((label, time_pipeline(full, args.scale, 1)))
            start = time.perf_counter()
            resized = []
            for path in full:
                dst = osp.join(tmp, 'resized', osp.basename(path))
                resize_image(path, dst, 512)
                resized.append(dst)
            convert_rate = len(full) / (time.perf_counter() - start)
            rows.append(('full-size after --resize 512', time_pipeline(resized, args.scale,
                                                                       args.repeats)))
            rows.append(('(converter --resize 512 itself)', convert_rate))

    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'LoadCXRImage + mmcv Resize({args.scale}), one process, '
          f'{len(sources)} real images from {args.images}')
    width = max(len(label) for label, _ in rows)
    for label, rate in rows:
        print(f'  {label:<{width}}  {rate:8.1f} images/s')


if __name__ == '__main__':
    main()
