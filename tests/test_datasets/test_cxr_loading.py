# Copyright (c) medvlp contributors. All rights reserved.
"""LoadCXRImage on real PNG, JPEG, PGM and DICOM chest X-rays, and on broken files."""
import io

import numpy as np
import pytest
from PIL import Image

from medvlp.datasets.transforms import CorruptImageError, LoadCXRImage
from medvlp.datasets.transforms import loading
from medvlp.registry import TRANSFORMS


def _first_with_mode(paths, mode):
    for path in paths:
        with Image.open(path) as img:
            if img.mode == mode:
                return path
    raise AssertionError(f'no {mode} image in the covid-cxr folder')


@pytest.mark.parametrize('mode', ['L', 'RGB'])
def test_png_becomes_three_equal_uint8_channels(covid_images, mode):
    path = _first_with_mode(covid_images, mode)
    results = LoadCXRImage()(dict(img_path=str(path)))
    img = results['img']
    with Image.open(path) as ref:
        expected = np.asarray(ref.convert('L'))
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert results['img_shape'] == results['ori_shape'] == expected.shape
    for channel in range(3):
        np.testing.assert_array_equal(img[..., channel], expected)


def test_jpeg_and_single_channel_and_float(covid_images, tmp_path):
    jpg = tmp_path / 'x.jpg'
    Image.open(covid_images[0]).convert('L').save(jpg, quality=95)
    img = TRANSFORMS.build(dict(type='LoadCXRImage', channels=1))(dict(img_path=str(jpg)))['img']
    assert img.ndim == 2 and img.dtype == np.uint8
    img = LoadCXRImage(to_float32=True)(dict(img_path=str(jpg)))['img']
    assert img.dtype == np.float32 and img.shape[2] == 3


def test_sixteen_bit_png_is_stretched_to_uint8(tmp_path):
    pixels = (np.arange(64 * 48, dtype=np.uint16).reshape(48, 64) * 3 + 1000)
    path = tmp_path / 'deep.png'
    Image.fromarray(pixels).save(path)
    img = LoadCXRImage()(dict(img_path=str(path)))['img']
    assert img.dtype == np.uint8 and img.shape == (48, 64, 3)
    assert img.min() == 0 and img.max() == 255


def test_dicom(shared_data):
    pytest.importorskip('pydicom')
    path = next((shared_data / 'samples' / 'siim').glob('*.dcm'))
    img = LoadCXRImage()(dict(img_path=str(path)))['img']
    assert img.shape == (1024, 1024, 3) and img.dtype == np.uint8
    assert img.std() > 10  # a real radiograph, not a blank


def test_truncated_png_raises_naming_the_file(covid_images, tmp_path):
    data = covid_images[0].read_bytes()
    broken = tmp_path / 'half.png'
    broken.write_bytes(data[:len(data) // 2])
    with pytest.raises(CorruptImageError, match='half.png'):
        LoadCXRImage()(dict(img_path=str(broken)))
    assert issubclass(CorruptImageError, ValueError)


@pytest.mark.parametrize('content', [b'', b'not an image at all'])
def test_empty_or_garbage_file_raises(tmp_path, content):
    path = tmp_path / 'bad.png'
    path.write_bytes(content)
    with pytest.raises(CorruptImageError, match='bad.png'):
        LoadCXRImage()(dict(img_path=str(path)))


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadCXRImage()(dict(img_path=str(tmp_path / 'nope.png')))


def test_skip_returns_none_and_counts(covid_images, tmp_path, mm_log):
    data = covid_images[0].read_bytes()
    broken = tmp_path / 'half.png'
    broken.write_bytes(data[:len(data) // 3])
    load = LoadCXRImage(on_error='skip')
    assert load(dict(img_path=str(broken))) is None
    assert load(dict(img_path=str(tmp_path / 'gone.png'))) is None
    assert load.num_skipped == 2
    assert load(dict(img_path=str(covid_images[0]))) is not None
    logged = mm_log.text()
    assert 'half.png' in logged and 'truncated' in logged
    assert 'gone.png' in logged and '2 skipped so far' in logged


def test_bad_options():
    with pytest.raises(ValueError, match="'raise', 'skip'"):
        LoadCXRImage(on_error='ignore')
    with pytest.raises(ValueError, match='channels'):
        LoadCXRImage(channels=2)


# ------------------------------------------------------- the greyscale JPEG fast path
def _grey_bytes(path, fmt: str, **save_kwargs) -> bytes:
    """A real X-ray as a greyscale file of Pillow format ``fmt``, in memory."""
    buffer = io.BytesIO()
    Image.open(path).convert('L').save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()


def _grey_jpeg_bytes(path, **save_kwargs) -> bytes:
    return _grey_bytes(path, 'JPEG', **save_kwargs)


def _pillow_grey(content: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(content)) as img:
        return np.asarray(img.convert('L'))


@pytest.mark.parametrize('save_kwargs', [dict(quality=95), dict(quality=75),
                                         dict(quality=90, progressive=True)])
def test_grey_jpeg_fast_path_gives_pillows_pixels(covid_images, save_kwargs):
    """OpenCV decodes the converters' greyscale JPEGs to exactly Pillow's pixels."""
    for path in covid_images[:20]:
        content = _grey_jpeg_bytes(path, **save_kwargs)
        fast = loading._decode_grey_jpeg(content, str(path), None)
        assert fast is not None, 'the fast path was not taken'
        np.testing.assert_array_equal(fast, _pillow_grey(content))
        np.testing.assert_array_equal(loading.decode_image(content), fast)


def test_jpeg_frame_reads_the_header_only(covid_images):
    content = _grey_jpeg_bytes(covid_images[0], quality=95)
    with Image.open(covid_images[0]) as img:
        width, height = img.size
    assert loading.jpeg_frame(content) == (0xC0, 8, height, width, 1)
    assert loading.jpeg_frame(_grey_jpeg_bytes(covid_images[0], progressive=True))[0] == 0xC2
    for broken in (b'', b'\xff\xd8', content[:20], b'\x89PNG' + content[4:]):
        assert loading.jpeg_frame(broken) is None


def test_truncated_grey_jpeg_raises_not_grey_rows(covid_images, tmp_path):
    """OpenCV would fill a truncated file's missing rows with grey: Pillow decides."""
    content = _grey_jpeg_bytes(covid_images[0], quality=95)
    broken = tmp_path / 'cut.jpg'
    broken.write_bytes(content[:len(content) * 2 // 3])
    with pytest.raises(CorruptImageError, match='cut.jpg'):
        LoadCXRImage(channels=1)(dict(img_path=str(broken)))


def test_other_jpegs_take_pillows_path(covid_images):
    """Colour JPEGs, trailing bytes and EXIF orientation give what Pillow gives."""
    rgb = next(p for p in covid_images if Image.open(p).mode == 'RGB')
    colour = io.BytesIO()
    Image.open(rgb).save(colour, format='JPEG', quality=95)
    grey = _grey_jpeg_bytes(covid_images[0], quality=95)
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees for display; neither reader applies it
    Image.open(covid_images[0]).convert('L').save(rotated, format='JPEG', exif=exif)
    cases = dict(colour=(colour.getvalue(), False), trailing=(grey + b'\0' * 7, False),
                 exif=(rotated.getvalue(), True))
    for name, (content, fast) in cases.items():
        assert (loading._decode_grey_jpeg(content, name, None) is not None) == fast, name
        np.testing.assert_array_equal(loading.decode_image(content), _pillow_grey(content),
                                      err_msg=name)


def test_jpeg_pixel_limit_is_checked_before_decoding(covid_images, tmp_path, monkeypatch):
    path = tmp_path / 'big.jpg'
    path.write_bytes(_grey_jpeg_bytes(covid_images[0], quality=95))

    def no_decode(*args):
        raise AssertionError('decoded although over the pixel limit')

    monkeypatch.setattr(loading.cv2, 'imdecode', no_decode)
    with pytest.raises(CorruptImageError, match='max_pixels'):
        LoadCXRImage(max_pixels=100)(dict(img_path=str(path)))


# --------------------------------------------------------------- PGM
def _grey_pgm_bytes(path) -> bytes:
    """A real X-ray as ``prepare_mimic_cxr.py --resized-format pgm`` stores it."""
    return _grey_bytes(path, 'PPM')


def test_grey_pgm_is_read_without_a_decoder(covid_images, tmp_path):
    """The converters' binary greymaps: Pillow's pixels, copied out of the file."""
    from medvlp.datasets.conversion import save_grey_image
    for path in covid_images[:20]:
        content = _grey_pgm_bytes(path)
        assert content.startswith(b'P5\n')
        fast = loading._decode_grey_pgm(content, str(path), None)
        assert fast is not None, 'the fast path was not taken'
        np.testing.assert_array_equal(fast, _pillow_grey(content))
        np.testing.assert_array_equal(loading.decode_image(content), fast)
    assert fast.flags.writeable  # a copy: the pipeline may write into it
    # the file the converter writes, through the transform
    with Image.open(covid_images[0]) as img:
        save_grey_image(img.convert('L'), str(tmp_path / 'x.pgm'), 'pgm')
        expected = np.asarray(img.convert('L'))
    results = LoadCXRImage(channels=1)(dict(img_path=str(tmp_path / 'x.pgm')))
    np.testing.assert_array_equal(results['img'], expected)
    assert results['img_shape'] == expected.shape


def test_other_pgms_take_pillows_path(covid_images):
    """Comments, other maximum values, trailing bytes, ASCII: Pillow reads them."""
    content = _grey_pgm_bytes(covid_images[0])
    header_end = content.index(b'\n255\n') + 5
    header, pixels = content[:header_end], content[header_end:]
    commented = header.replace(b'P5\n', b'P5\n# written by a scanner\n') + pixels
    with Image.open(covid_images[0]) as img:
        grey = np.asarray(img.convert('L'))
    ascii_pgm = (f'P2\n{grey.shape[1]} {grey.shape[0]}\n255\n'.encode()
                 + ' '.join(map(str, grey[:4].ravel())).encode())
    deep = io.BytesIO()
    Image.fromarray(grey.astype(np.uint16) * 257).save(deep, format='PPM')
    cases = dict(commented=commented, trailing=content + b'\0' * 7,
                 sixteen_bit=deep.getvalue())
    for name, case in cases.items():
        assert loading._decode_grey_pgm(case, name, None) is None, name
        np.testing.assert_array_equal(loading.decode_image(case), grey, err_msg=name)
    assert loading._decode_grey_pgm(ascii_pgm, 'ascii', None) is None


def test_truncated_pgm_raises_naming_the_file(covid_images, tmp_path):
    content = _grey_pgm_bytes(covid_images[0])
    broken = tmp_path / 'cut.pgm'
    broken.write_bytes(content[:len(content) * 2 // 3])
    assert loading._decode_grey_pgm(broken.read_bytes(), 'cut', None) is None
    with pytest.raises(CorruptImageError, match='cut.pgm'):
        LoadCXRImage(channels=1)(dict(img_path=str(broken)))


def test_pgm_pixel_limit_is_checked_before_reading(covid_images, tmp_path, monkeypatch):
    path = tmp_path / 'big.pgm'
    path.write_bytes(_grey_pgm_bytes(covid_images[0]))

    def no_read(*args, **kwargs):
        raise AssertionError('read although over the pixel limit')

    monkeypatch.setattr(loading.np, 'frombuffer', no_read)
    with pytest.raises(CorruptImageError, match='max_pixels'):
        LoadCXRImage(max_pixels=100)(dict(img_path=str(path)))


# --------------------------------------------------------------- CXRRandomResizedCrop
def _preresized_jpegs(covid_images, folder, count=12, size=256):
    """Real X-rays as the converter leaves them: greyscale JPEGs, short side ``size``."""
    paths = []
    for index, src in enumerate(covid_images[:count]):
        with Image.open(src) as img:
            img = img.convert('L')
            scale = size / min(img.size)
            img = img.resize((round(img.width * scale), round(img.height * scale)),
                             Image.Resampling.BICUBIC)
        path = folder / f'{index}.jpg'
        img.save(path, quality=95)
        paths.append(str(path))
    return paths


def _old_and_new_crops(paths, backend, repeats=2):
    """mmpretrain's pillow crop of the 3-channel load, and ours of the 1-channel load."""
    from mmpretrain.datasets.transforms import RandomResizedCrop

    from medvlp.datasets.transforms import CXRRandomResizedCrop
    kwargs = dict(scale=224, crop_ratio_range=(0.6, 1.0), interpolation='bicubic')
    old = RandomResizedCrop(backend='pillow', **kwargs)
    new = CXRRandomResizedCrop(backend=backend, **kwargs)
    load3, load1 = LoadCXRImage(), LoadCXRImage(channels=1)
    pairs = []
    for seed in range(repeats):
        for path in paths:
            np.random.seed(seed)
            reference = old(load3(dict(img_path=path)))
            np.random.seed(seed)
            fast = new(load1(dict(img_path=path)))
            pairs.append((reference, fast))
    return pairs


def test_cxr_random_resized_crop_pillow_equals_mmpretrain(covid_images, tmp_path):
    """Same random box, same pixels, same shape as mmpretrain on the 3-channel image."""
    paths = _preresized_jpegs(covid_images, tmp_path)
    for reference, fast in _old_and_new_crops(paths, 'pillow'):
        assert fast['img'].shape == reference['img'].shape == (224, 224, 3)
        assert fast['img_shape'] == reference['img_shape']
        assert fast['img'].dtype == np.uint8
        np.testing.assert_array_equal(fast['img'], reference['img'])


def test_cxr_random_resized_crop_cv2_is_within_stated_tolerance(covid_images, tmp_path):
    """OpenCV's bicubic differs from Pillow's by < 1 grey level on average (the documented
    tolerance; 0.3 on these images), and almost every pixel by at most a few levels."""
    paths = _preresized_jpegs(covid_images, tmp_path)
    means = []
    for reference, fast in _old_and_new_crops(paths, 'cv2'):
        assert fast['img'].shape == reference['img'].shape
        diff = np.abs(fast['img'].astype(np.int16) - reference['img'].astype(np.int16))
        means.append(diff.mean())
        assert np.percentile(diff, 99) <= 4
    assert np.mean(means) < 1.0 and max(means) < 2.0


def test_cxr_random_resized_crop_output_packs_without_copy(covid_images, tmp_path):
    from mmpretrain.datasets.transforms.formatting import PackInputs

    from medvlp.datasets.transforms import CXRRandomResizedCrop, grey_to_channels
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    rgb = grey_to_channels(grey, 3)
    np.testing.assert_array_equal(rgb, np.repeat(grey[..., None], 3, axis=2))
    tensor = PackInputs.format_input(rgb)
    assert tensor.shape == (3, 3, 4) and tensor.data_ptr() == rgb.ctypes.data
    # one channel: a view of the grey image, packed as (1, H, W) without a copy
    one = grey_to_channels(grey, 1)
    assert one.shape == (3, 4, 1) and one.ctypes.data == grey.ctypes.data
    tensor = PackInputs.format_input(one)
    assert tensor.shape == (1, 3, 4) and tensor.data_ptr() == grey.ctypes.data
    grey.flags.writeable = False  # Pillow's arrays: copied, so the tensor may be written
    one = grey_to_channels(grey, 1)
    assert one.flags.writeable and one.ctypes.data != grey.ctypes.data
    np.testing.assert_array_equal(one[..., 0], grey)
    path = _preresized_jpegs(covid_images, tmp_path, count=1)[0]
    crop = CXRRandomResizedCrop(scale=(32, 48), channels=None)
    out = crop(LoadCXRImage(channels=1)(dict(img_path=path)))
    assert out['img'].shape == (32, 48) and out['img_shape'] == (32, 48)
    three = LoadCXRImage()(dict(img_path=path))  # a 3-channel input: mmpretrain's own code
    assert CXRRandomResizedCrop(scale=16)(three)['img'].shape == (16, 16, 3)
    with pytest.raises(ValueError, match='backend'):
        CXRRandomResizedCrop(scale=16, backend='turbo')
    with pytest.raises(ValueError, match='interpolation'):
        CXRRandomResizedCrop(scale=16, interpolation='cubic')
