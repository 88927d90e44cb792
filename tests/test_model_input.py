"""The one preprocessing path: training validation and the reader feed identical tensors."""

import numpy as np
import pytest

from plate_ocr.data.datamodule import SourcePlates, collate_plates
from plate_ocr.data.folder import PlateFolder, find_splits
from plate_ocr.data.model_input import model_pixels, prepare, resize, to_batch, to_channels
from plate_ocr.model import CRNN
from plate_ocr.reader import PlateReader


@pytest.mark.parametrize(("channels", "size"), [(1, (32, 96)), (3, (32, 96)), (1, (160, 480))])
def test_validation_and_reader_tensors_are_identical(real_folder, channels, size):
    """Shrinking and (at 160x480) enlarging: the reader's direct resize is the pipeline's."""
    crops = PlateFolder(find_splits(real_folder)["validation"])
    validation = SourcePlates("real", crops, size, channels)
    batch = collate_plates([validation[i] for i in range(len(validation))])["images"]
    reader = PlateReader(CRNN(image_size=size, in_channels=channels, channels=(8, 8, 8, 8)))
    np.testing.assert_array_equal(batch.numpy(), reader.preprocess(crops.images))
    assert batch.shape == (len(crops), channels, *size)


def test_prepare_resizes_greys_and_scales():
    crop = np.zeros((50, 170, 3), np.uint8)
    crop[:, :85] = (255, 0, 0)  # red left half, black right half
    batch = prepare([crop], (20, 40), 1)
    assert batch.shape == (1, 1, 20, 40) and batch.dtype == np.float32
    red_grey = 0.299  # OpenCV's luma weight of red
    assert batch[0, 0, 10, 5] == pytest.approx(red_grey, abs=1 / 255)
    assert batch[0, 0, 10, 35] == 0.0
    assert resize(crop, (20, 40)).shape == (20, 40, 3)
    assert to_channels(crop, 3) is crop
    assert to_batch([crop]).max() == 1.0


@pytest.mark.parametrize("size", [(32, 160), (160, 480)])
def test_grey_before_the_resize_moves_a_pixel_by_a_rounding_at_most(real_folder, size):
    """The reader greys a crop before resizing it (one channel to resize, not three); the
    training pipeline resizes first. Both are linear: the two orders agree to a level."""
    for image in PlateFolder(find_splits(real_folder)["validation"]).images:
        grey_first = model_pixels(image, size, 1).astype(int)
        resized_first = to_channels(resize(image, size), 1).astype(int)
        assert grey_first.shape == resized_first.shape == (*size, 1)
        assert np.abs(grey_first - resized_first).max() <= 1
