"""The camera: puts a plate face in front of a car and photographs it badly.

Real crops are small (median 190x64, many ~150x45): the plate was seen at a low native
resolution, with sensor noise and JPEG at that resolution, and only then resized to the
model's input. So the scene is rendered at a sampled native size, degraded there, and
resized last; noise and compression then look smeared the way real crops do. One
perspective warp does all the geometric work (scale, rotation, position, keystone).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from plate_ocr.plates import PlateSampler, pick
from plate_ocr.synth.face import draw_face, rounded_alpha
from plate_ocr.synth.factors import DEFAULT_FACTORS, Factors, ramp, uniform

# Car body colours, the background of a loose crop (RGB 0-1), and how common they are.
_BODY = np.array(
    [
        [0.9, 0.9, 0.9],
        [0.72, 0.73, 0.75],
        [0.5, 0.51, 0.53],
        [0.3, 0.3, 0.32],
        [0.07, 0.07, 0.08],
        [0.14, 0.14, 0.13],
        [0.15, 0.22, 0.45],
        [0.6, 0.1, 0.1],
        [0.45, 0.5, 0.45],
        [0.7, 0.65, 0.55],
    ],
    np.float32,
)
_BODY_CDF = np.cumsum([0.16, 0.16, 0.12, 0.1, 0.14, 0.1, 0.06, 0.06, 0.05, 0.05])


def _grey_to_rgb(grey: np.ndarray, rgb) -> np.ndarray:
    """uint8 image of an RGB colour modulated by a float map (1 = the colour itself)."""
    level = cv2.cvtColor(cv2.convertScaleAbs(grey, alpha=255), cv2.COLOR_GRAY2RGB)
    return cv2.transform(level, np.diag(np.asarray(rgb, np.float32)))


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Car body behind the plate: a base colour, vertical shading and a few horizontal bands
    (bumper edges, grille bars, the shadow under the bumper)."""
    colour = _BODY[pick(rng, _BODY_CDF)] * (0.8 + 0.4 * rng.random())
    column = ramp(uniform(rng, (0.6, 1.3)), uniform(rng, (0.4, 1.1)), h)
    for _ in range(rng.integers(0, 4)):
        y0 = rng.integers(0, h)
        column[y0 : y0 + rng.integers(1, max(2, h // 4))] *= uniform(rng, (0.3, 1.6))
    if rng.random() < 0.1:  # grille bars
        column[rng.integers(0, 3) :: rng.integers(3, 8)] *= 0.4
    row = ramp(1.0, uniform(rng, (0.8, 1.2)), w)
    return _grey_to_rgb(np.outer(column, row), colour)


def _place(face_shape, plate_box, text_box, rng, factors, h, w) -> np.ndarray:
    """Destination corners of the face in the (h, w) frame, with every digit kept inside.
    Scalars in plain Python where numpy's per-call cost would be most of the work."""
    fh, fw = face_shape
    px0, py0, px1, py1 = plate_box
    scale = uniform(rng, factors.plate_width) * w / (px1 - px0)
    angle = math.radians(min(max(rng.normal(0, factors.rotation_deg), -8), 8))
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale
    cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
    target_x, target_y = w / 2 + rng.normal(0, 0.04) * w, h / 2 + rng.normal(0, 0.07) * h
    corners = ((0, 0), (fw, 0), (fw, fh), (0, fh))
    dst = np.array(
        [[cos * (x - cx) - sin * (y - cy) + target_x, sin * (x - cx) + cos * (y - cy) + target_y]
         for x, y in corners]
    )  # fmt: skip
    dst += rng.normal(0, factors.perspective * scale * (py1 - py0), (4, 2))
    src = np.array(corners, np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    pad = 0.2 * (text_box[3] - text_box[1])  # keep some plate around the digits
    tx0, ty0, tx1, ty1 = text_box[0] - pad, text_box[1] - pad, text_box[2] + pad, text_box[3] + pad
    text = np.array([[[tx0, ty0], [tx1, ty0], [tx1, ty1], [tx0, ty1]]], np.float32)
    xs, ys = cv2.perspectiveTransform(text, matrix)[0].T.tolist()
    lo_x, hi_x, lo_y, hi_y = min(xs), max(xs), min(ys), max(ys)
    room_x, room_y = w - 2.0, h - 2.0
    shrink = min(1.0, room_x / max(hi_x - lo_x, 1e-6), room_y / max(hi_y - lo_y, 1e-6))
    mid_x, mid_y = (lo_x + hi_x) / 2, (lo_y + hi_y) / 2
    lo_x, hi_x = mid_x + (lo_x - mid_x) * shrink, mid_x + (hi_x - mid_x) * shrink
    lo_y, hi_y = mid_y + (lo_y - mid_y) * shrink, mid_y + (hi_y - mid_y) * shrink
    shift_x = max(1.0 - lo_x, 0) - max(hi_x - (room_x + 1.0), 0)
    shift_y = max(1.0 - lo_y, 0) - max(hi_y - (room_y + 1.0), 0)
    mid = np.array([mid_x, mid_y])
    return mid + (dst - mid) * shrink + np.array([shift_x, shift_y])


def render_plate(
    label: str,
    rng: np.random.Generator,
    size: tuple[int, int] = (64, 200),
    factors: Factors = DEFAULT_FACTORS,
) -> np.ndarray:
    """A synthetic crop of plate ``label`` as an (H, W, 3) uint8 RGB image of ``size`` (H, W).

    Every random choice comes from ``rng``, so the same generator state gives the same image.
    """
    out_h, out_w = size
    face, corner, plate_box, text_box = draw_face(label, rng, factors)
    low, high = np.log(factors.native_height)
    native_h = float(np.exp(uniform(rng, (low, high))))
    # A crop far larger than the output is rendered at 1.25x the output height: the final
    # downscale would discard the detail, and blur and noise shrink with it (``scale``).
    scale = min(1.0, max(1.25 * out_h, 40.0) / native_h)
    h = max(16, round(native_h * scale))
    w = max(32, round(h * uniform(rng, factors.crop_aspect)))
    dst = _place(face.shape[:2], plate_box, text_box, rng, factors, h, w)
    # Shrink the face near its on-screen size first: warpPerspective samples without
    # filtering, and thin strokes would alias into broken digits.
    top = dst[1] - dst[0]
    on_screen = np.sqrt(top @ top) / face.shape[1]  # np.linalg.norm, less its overhead
    if on_screen < 0.7:
        small = (
            max(2, round(face.shape[1] * on_screen * 1.25)),
            max(2, round(face.shape[0] * on_screen * 1.25)),
        )
        corner = max(1, round(corner * small[0] / face.shape[1]))
        face = cv2.resize(face, small, interpolation=cv2.INTER_AREA)
    alpha = rounded_alpha(face.shape[:2], corner)  # made at this size: no second resize
    fh, fw = face.shape[:2]
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    plate = cv2.warpPerspective(
        face, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    cover = cv2.warpPerspective(alpha, matrix, (w, h), flags=cv2.INTER_LINEAR)
    scene = cv2.blendLinear(plate, _background(rng, h, w), cover, 1.0 - cover)
    image = _degrade(_light(scene, rng, factors), rng, factors, scale)
    interpolation = cv2.INTER_LINEAR if out_h >= h else cv2.INTER_AREA
    return cv2.resize(image, (out_w, out_h), interpolation=interpolation)


DEFAULT_SAMPLER = DEFAULT_FACTORS.plate_sampler


def render_sample(
    seed: int,
    index: int,
    size: tuple[int, int] = (64, 200),
    sampler: PlateSampler | None = None,
    factors: Factors = DEFAULT_FACTORS,
    stream: int = 0,
) -> tuple[np.ndarray, str]:
    """Sample ``index`` of ``seed``: a function of (seed, index, stream) alone, so workers,
    shuffling and resumed runs all get the same image for the same index. ``stream`` keeps
    sets that share a seed apart (the train, validation and test splits on disk); stream 0
    is ``default_rng([seed, index])``, the on-the-fly dataset's. The plate number comes from
    ``sampler``, else from the factors' weight tables (``Factors.plate_sampler``)."""
    rng = np.random.default_rng([seed, index, stream] if stream else [seed, index])
    label = (sampler or factors.plate_sampler).sample(rng)
    return render_plate(label, rng, size, factors), label


def _light(scene: np.ndarray, rng: np.random.Generator, factors: Factors) -> np.ndarray:
    """Exposure, white balance and contrast in one colour transform; uneven light and cast
    shadows as one multiplicative map."""
    h, w = scene.shape[:2]
    gain = uniform(rng, factors.brightness) * (1.0 + rng.normal(0, 0.05, 3))
    contrast = uniform(rng, factors.contrast)
    mean = np.asarray(cv2.mean(scene)[:3])
    matrix = np.zeros((3, 4), np.float32)
    matrix[:, :3] = np.diag(gain * contrast)
    matrix[:, 3] = gain * (1.0 - contrast) * mean
    scene = cv2.transform(scene, matrix)
    shading = None
    if rng.random() < factors.p_uneven_light:
        shading = cv2.resize(
            uniform(rng, (0.55, 1.0)) + 0.45 * rng.random((2, 3)).astype(np.float32),
            (w, h),
            interpolation=cv2.INTER_LINEAR,
        )
    if rng.random() < factors.p_shadow:
        angle = rng.random() * 2 * np.pi
        ys = ramp(-1, 1, h) * np.float32(np.sin(angle))
        xs = ramp(-1, 1, w) * np.float32(np.cos(angle) * w / h)
        edge = np.clip(
            (ys[:, None] + xs[None, :] - rng.normal(0, 0.8)) * uniform(rng, (1.0, 6.0)), 0, 1
        )
        shadow = 1.0 - uniform(rng, (0.3, 0.65)) * edge
        shading = shadow if shading is None else shading * shadow
    if shading is not None:
        scene = cv2.multiply(scene, _grey_to_rgb(shading, (1.0, 1.0, 1.0)), scale=1 / 255)
    return scene


def _degrade(
    scene: np.ndarray, rng: np.random.Generator, factors: Factors, scale: float = 1.0
) -> np.ndarray:
    """Optics and sensor at native resolution (``scale`` = rendered / native size): blur,
    noise, gamma, JPEG."""
    h, w = scene.shape[:2]
    # Capped by the crop's size: a tiny crop blurred as much as a large one is unreadable.
    sigma = min(uniform(rng, factors.blur_sigma) * rng.random() * scale, 0.022 * h)
    if sigma > 0.3:
        scene = cv2.GaussianBlur(scene, (0, 0), sigma)
    if rng.random() < factors.p_motion_blur:
        length = int(rng.integers(3, 6))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2] = 1.0
        turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), rng.normal(0, 20), 1.0)
        kernel = cv2.warpAffine(kernel, turn, (length, length))
        scene = cv2.filter2D(scene, -1, kernel / max(float(kernel.sum()), 1e-6))
    noise_sigma = uniform(rng, factors.noise_sigma) * 255 * scale
    if noise_sigma > 1.0:
        if h <= _NOISE.shape[0] and w <= _NOISE.shape[1]:
            y, x = (
                rng.integers(0, _NOISE.shape[0] - h + 1),
                rng.integers(0, _NOISE.shape[1] - w + 1),
            )
            noise = _NOISE[y : y + h, x : x + w] * np.float32(noise_sigma)
        else:
            noise = rng.standard_normal((h, w, 3), np.float32) * np.float32(noise_sigma)
        scene = cv2.add(scene, noise, dtype=cv2.CV_8U)
    scene = cv2.LUT(scene, _gamma_lut(uniform(rng, factors.gamma)))
    if rng.random() < factors.p_jpeg:
        quality = int(rng.integers(*factors.jpeg_quality))
        # colour order swapped by cvtColor, not a reversed view, which OpenCV would copy
        bgr = cv2.cvtColor(scene, cv2.COLOR_RGB2BGR)
        _, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        scene = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    return scene


def _gamma_lut(gamma: float) -> np.ndarray:
    # Quantised to steps of 0.05, so the handful of tables is built once per process.
    key = round(gamma * 20)
    if key not in _LUTS:
        _LUTS[key] = np.clip(255.0 * (np.arange(256) / 255.0) ** (key / 20), 0, 255).astype(
            np.uint8
        )
    return _LUTS[key]


_LUTS: dict[int, np.ndarray] = {}
# One bank of unit Gaussian noise, sliced at random offsets: cheaper than fresh draws.
_NOISE = np.random.default_rng(11).standard_normal((192, 448, 3)).astype(np.float32)
