"""Face crops: around the largest detected face, else the centre square with the flag False."""

import numpy as np

from emibench.media.face_crop import (
    FaceCropper,
    FaceSettings,
    centre_square,
    detect_largest_face,
    square_around,
)
from emibench.media.frames import FrameSettings, sample_frames
from emibench.media.sample_clips import draw_face, write_clip


def test_no_face_falls_back_to_the_centre_square():
    image = np.zeros((120, 200, 3), np.uint8)
    image[:, :40] = (255, 0, 0)  # left band, outside the centre square (x 40..160)
    image[:, 160:] = (0, 0, 255)  # right band
    image[:, 40:160] = (0, 200, 0)
    crop, found = FaceCropper(FaceSettings(detector="haar"), 48)(image)
    assert not found
    assert crop.shape == (48, 48, 3)
    assert (crop[..., 1] > 150).all() and (crop[..., 0] < 50).all() and (crop[..., 2] < 50).all()


def test_largest_face_is_cropped_with_margin():
    image = np.full((240, 320, 3), 90, np.uint8)
    draw_face(image, 240, 120, 55)  # large face, right
    draw_face(image, 60, 60, 28)  # small face, top left
    settings = FaceSettings(detector="haar", detect_width=160, min_size=0.1)
    x, y, w, h = detect_largest_face(
        image, settings
    )  # full-frame pixels, though detected at 160 px
    assert abs(x + w / 2 - 240) < 15 and abs(y + h / 2 - 120) < 25 and w > 70
    crop, found = FaceCropper(settings, 64)(image)
    assert found
    # the crop shows the big face: skin colour in the middle, not the grey background
    assert np.abs(crop[32, 32].astype(int) - (225, 190, 170)).max() < 60


def test_detector_none_never_looks_for_faces():
    image = np.full((240, 320, 3), 90, np.uint8)
    draw_face(image, 160, 120, 60)
    _, found = FaceCropper(FaceSettings(detector="none"), 32)(image)
    assert not found


def test_squares_stay_inside_the_frame():
    assert centre_square(640, 480) == (0, 80, 480)  # portrait: the middle of the height
    x0, y0, side = square_around(300, 10, 40, 40, 0.5, height=240, width=320)
    assert side == 80 and 0 <= x0 <= 320 - side and y0 == 0


def test_clip_face_flags_per_frame(tmp_path):
    with_face = write_clip(tmp_path / "face.mp4", 1.0, 25, size=(320, 240), face=(200, 120, 50))
    without = write_clip(tmp_path / "plain.mp4", 1.0, 25, size=(320, 240))
    config = FrameSettings(
        rate_hz=5, max_frames=0, size=48, face=FaceSettings(detector="haar", detect_every=2)
    )
    assert sample_frames(with_face, config).face.tolist() == [True] * 5
    assert sample_frames(without, config).face.tolist() == [False] * 5
