"""Draw synthetic faces: identity + 17 AU intensities + nuisance -> uint8 pixels, deterministically.

Every shape is a polygon in canonical face coordinates (x right, y down, the image spanning -1..1 at zoom 1). The
geometry of a whole batch of faces is computed at once with numpy (arrays (N, shapes, points, 2)); only the OpenCV
fills run per face, anti-aliased with 4 bits of sub-pixel precision. Lines are thin filled strips (faster than thick
`cv2.polylines` and sub-pixel wide). Faces smaller than 96 pixels are drawn at twice the size and averaged down, so a
48x48 face keeps its 1-pixel features. Only element-wise arithmetic and square roots touch per-face numbers, so a face
renders to the same bytes alone or inside any batch.

How each AU moves the face (intensity 0..5, effects grow with it):
  AU01 inner brow up + central forehead wrinkles   AU02 outer brow up + lateral forehead wrinkles
  AU04 brows down and together + vertical furrows   AU05 upper lid up (white above the iris)
  AU06 cheeks up: lower lid up, crow's feet, cheek fold, raised cheek highlight
  AU07 lids tighten (lower lid up and darker, upper a little down)
  AU09 nose wrinkles, nostrils up and wider, brows' inner ends down
  AU10 upper lip up (upper teeth show), deeper nasolabial folds
  AU12 lip corners up and out (smile)               AU14 dimples beside the corners, mouth a little narrower
  AU15 lip corners down + folds below them          AU17 chin up: lower lip up, mouth arched, chin furrow and dimpling
  AU20 lips stretched sideways and thinner + neck cords
  AU23 lips thinner and narrower                    AU25 lips part
  AU26 jaw drops: the mouth opens, chin and lower face move down
  AU45 eyes close
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache

import cv2
import numpy as np

from ccyclegan.data.synthetic_model import HAIR_STYLES

MIN_SIZE, MAX_SIZE = 32, 512
SUPERSAMPLED_BELOW = 96  # faces smaller than this are drawn at 2x and averaged down
SUBPIXEL_BITS = 4
FACE_CENTER_Y = -0.05
EYE_HALF_WIDTH = 0.13
LINE_ONSET = 0.5
CREASE_DEPTH = 85.0  # gray levels a skin line of strength 1 is darker than the skin
HIGHLIGHT_HEIGHT = 45.0
_FIXED = float(1 << SUBPIXEL_BITS)
_DARK = np.array([35.0, 20.0, 20.0])
_LUMA = (0.299, 0.587, 0.114)
_SIDES = np.array([-1.0, 1.0]).reshape(1, 2, 1)  # image-left and image-right copies of a paired feature
_STYLE = {name: i for i, name in enumerate(HAIR_STYLES)}


# --- geometry helpers: per-face numbers are (N, 1, 1) columns, parameter grids (n,) constants ----------------------


@cache
def _grid(n: int, low: float = -1.0, high: float = 1.0) -> np.ndarray:
    return np.linspace(low, high, n)


@cache
def _circle(n: int) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 2 * math.pi, n, endpoint=False)
    return np.cos(t), np.sin(t)


@cache
def _bezier_basis(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 1.0, n)
    return (1 - t) ** 2, 2 * t * (1 - t), t**2


@cache
def _taper(n: int) -> np.ndarray:
    return (0.35 + 0.65 * np.sqrt(np.sin(np.linspace(0.0, math.pi, n))))[:, None]


def _points(x, y) -> np.ndarray:
    """(..., n, 2) points from broadcastable x and y."""
    x, y = np.broadcast_arrays(x, y)
    return np.stack([x, y], axis=-1)


def _bezier(p0, p1, p2, n: int) -> np.ndarray:
    """Quadratic Bezier curves p0 -> p2 pulled towards p1; each p is (x, y) of broadcastable columns."""
    b0, b1, b2 = _bezier_basis(n)
    return _points(p0[0] * b0 + p1[0] * b1 + p2[0] * b2, p0[1] * b0 + p1[1] * b1 + p2[1] * b2)


def _ellipse(cx, cy, rx, ry, n: int) -> np.ndarray:
    cos, sin = _circle(n)
    return _points(cx + rx * cos, cy + ry * sin)


def _strips(curves: np.ndarray, width, taper: bool = True) -> np.ndarray:
    """Thin polygons (..., 2n, 2) of `width` around curves (..., n, 2), their ends tapered."""
    d = np.empty_like(curves)
    d[..., 1:-1, :] = curves[..., 2:, :] - curves[..., :-2, :]
    d[..., 0, :] = curves[..., 1, :] - curves[..., 0, :]
    d[..., -1, :] = curves[..., -1, :] - curves[..., -2, :]
    length = np.sqrt(d[..., 0] ** 2 + d[..., 1] ** 2)[..., None] + 1e-12
    normal = np.stack([-d[..., 1], d[..., 0]], axis=-1) / length
    half = 0.5 * np.asarray(width, dtype=float)
    half = half.reshape(half.shape[:1] + (1,) * (curves.ndim - 1)) if half.ndim else half
    if taper:
        half = half * _taper(curves.shape[-2])
    return np.concatenate([curves + normal * half, (curves - normal * half)[..., ::-1, :]], axis=-2)


def _polygon(*parts: np.ndarray) -> np.ndarray:
    """Join point runs (N, k, n_i, 2) (leading axes broadcast) into one polygon per shape."""
    leading = np.broadcast_shapes(*(p.shape[:-2] for p in parts))
    return np.concatenate([np.broadcast_to(p, leading + p.shape[-2:]) for p in parts], axis=-2)


def _arch(profile: np.ndarray) -> np.ndarray:
    """profile^0.75 (square roots only, exact on every machine): a rounder arch than a parabola, for upper lids."""
    root = np.sqrt(profile)
    return root * np.sqrt(root)


def _mix(a, b, k) -> np.ndarray:
    """Colours (N, 3): a towards b by k (a number or one per face), k clipped to 0..1."""
    k = np.clip(np.asarray(k, dtype=float), 0.0, 1.0).reshape(-1, 1)
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a + (b - a) * k


@dataclass
class _Layer:
    """Shapes of one colour per face: points (N, k, m, 2) in face units, RGB (N, 3), drawn where `enabled`."""

    points: np.ndarray
    rgb: np.ndarray
    enabled: np.ndarray | None = None


# --- the face ------------------------------------------------------------------------------------------------------


def _face_layers(idn: dict[str, np.ndarray], aus: np.ndarray) -> tuple[list[_Layer], np.ndarray, dict]:
    """All shapes of N faces back to front, the face outlines (N, 1, 48, 2) for masks, and the soft shading bumps
    (x, y, rx, ry in face units and amplitude in gray levels, each (N, K))."""
    n = len(aus)

    def col(values) -> np.ndarray:
        return np.asarray(values, dtype=float).reshape(n, 1, 1)

    (au1, au2, au4, au5, au6, au7, au9, au10, au12, au14, au15, au17, au20, au23, au25, au26, au45) = (
        col(aus[:, i]) for i in range(aus.shape[1]))
    # Skin lines (wrinkles, furrows, dimples) appear from intensity 0.5 on, reaching their full strength at 5.
    on1, on2, on4, on6, on7, on9, on14, on15, on17, on20, on23 = (
        np.maximum(a - LINE_ONSET, 0.0) * (5.0 / (5.0 - LINE_ONSET))
        for a in (au1, au2, au4, au6, au7, au9, au14, au15, au17, au20, au23))
    layers: list[_Layer] = []

    def add(points, rgb, enabled=None):
        points = np.broadcast_to(points, (n,) + points.shape[1:]) if points.shape[0] == 1 else points
        rgb = np.broadcast_to(np.asarray(rgb, float), (n, 3))
        if enabled is not None:
            enabled = np.asarray(enabled).reshape(n)
        layers.append(_Layer(points, rgb, enabled))

    skin = idn["skin"]
    crease = 0.45 * skin

    # Lines and shading darken skin by a depth that is the same on light and medium skin (so the pixel change is
    # proportional to the AU intensity whoever the face is) and shallower on dark skin (so it stays visible).
    luma = skin[:, 0] * _LUMA[0] + skin[:, 1] * _LUMA[1] + skin[:, 2] * _LUMA[2]
    contrast = np.clip(luma / 170.0, 0.5, 1.0).reshape(n, 1)

    def line_color(strength):
        depth = CREASE_DEPTH * contrast * np.clip(np.asarray(strength, float), 0, 1).reshape(-1, 1)
        return np.clip(skin - depth, 0, 255)

    def highlight(strength):
        return np.clip(skin + HIGHLIGHT_HEIGHT * np.clip(np.asarray(strength, float), 0, 1).reshape(-1, 1), 0, 255)

    fw, fh, jaw = col(idn["face_width"]), col(idn["face_height"]), col(idn["jaw"])
    ey, es = col(idn["eye_height"]), col(idn["eye_spacing"])
    ew = EYE_HALF_WIDTH * col(idn["eye_size"])
    ny = ey + col(idn["nose_length"])
    my = ny + col(idn["mouth_gap"])
    chin_y = FACE_CENTER_Y + fh
    brow_y = ey - col(idn["brow_gap"])
    wrinkles = col(idn["wrinkles"])
    style = idn["hair_style"].reshape(n, 1, 1, 1)
    hair = idn["hair"]
    hair_dark = 0.7 * hair
    jaw_drop = 0.025 * au26
    pivot_y, full_drop_y = ny + 0.02, my + 0.06

    def jaw_warp(y):
        """Move points below the nose down with the jaw: none above the pivot, all of it below the mouth."""
        return y + jaw_drop * np.clip((y - pivot_y) / (full_drop_y - pivot_y), 0.0, 1.0)

    # Body, and hair behind the head.
    add(_ellipse(0.0, chin_y + 0.62, fw * 1.9, 0.5, 28), idn["shirt"])
    add(_points(fw * np.array([-0.48, 0.48, 0.52, -0.52]), np.array([0, 0, 1.45, 1.45]) + FACE_CENTER_Y),
        _mix(skin, crease, 0.3))
    cords = _points(_SIDES * np.array([0.12, 0.16, 0.21]), chin_y + np.array([0.03, 0.15, 0.35]))
    add(_strips(cords, 0.035), line_color(0.16 * on20), on20 > 0)
    hair_volume = col(idn["hair_volume"])
    hair_rx, hair_ry = fw * 1.05 + hair_volume, fh * 1.03 + hair_volume
    end_y = np.where(style[..., 0] == _STYLE["long"], 1.05, my + 0.02)
    crown = _ellipse(0.0, FACE_CENTER_Y, hair_rx * 1.08, hair_ry, 32)[..., 16:, :]
    back = _polygon(_points(-hair_rx * 0.95, end_y), _points(-hair_rx * 1.12, end_y - 0.15), crown,
                    _points(hair_rx * 1.12, end_y - 0.15), _points(hair_rx * 0.95, end_y),
                    _points(0.0 * end_y, end_y + 0.04))
    add(back, hair, (style == _STYLE["long"]) | (style == _STYLE["bob"]))

    # Ears, then the face.
    ear_size = col(idn["ear_size"])
    ear_y = ey + 0.13
    add(_ellipse(_SIDES * fw * 0.97, ear_y, 0.085 * ear_size, 0.16 * ear_size, 16), _mix(skin, crease, 0.12))
    add(_ellipse(_SIDES * fw, ear_y, 0.04 * ear_size, 0.09 * ear_size, 12), _mix(skin, crease, 0.45))
    cos, sin = _circle(48)
    lower = sin > 0
    taper = 0.34 - 0.22 * jaw
    outline = _points(fw * cos * np.where(lower, 1.0 - taper * sin**2, 1.0 - 0.06 * sin),
                      jaw_warp(FACE_CENTER_Y + fh * sin))
    add(outline, skin)

    # Soft shading of the muscles each AU bunches or stretches, added to the finished image
    # (see _shade_light_and_noise).
    mw0 = col(idn["mouth_width"])
    bumps = (  # (AU, centre x, centre y, radius x, radius y, gray levels darker per intensity unit)
        (au1, 0.0, brow_y - 0.17, 0.24, 0.13, 8.0),  # frontalis, inner part: central forehead furrows
        (au2, _SIDES * 0.38, brow_y - 0.13, 0.18, 0.12, 8.0),  # frontalis, outer part
        (au4, 0.0, brow_y + 0.03, 0.12, 0.12, 8.0),  # corrugator bunching between the brows
        (au5, _SIDES * (es - 0.08), ey - 0.09, 0.08, 0.05, 10.0),  # deeper hollow over the retracted lid
        (au6, _SIDES * (es + 0.04), ey + 0.34, 0.17, 0.07, 8.0),  # raised cheeks: the shadow under them
        (au7, _SIDES * es, ey + 0.08, 0.18, 0.06, 10.0),  # tensed lower lid
        (au9, 0.0, ey + 0.08, 0.1, 0.13, 8.0),  # wrinkled nose root
        (au10, 0.0, my - 0.115, 0.16, 0.06, 10.0),  # raised upper lip: shadow under the nose
        (au12, _SIDES * (mw0 + 0.1), my - 0.14, 0.15, 0.1, 8.0),  # deeper nasolabial furrows of the smile
        (au14, _SIDES * (mw0 + 0.09), my, 0.1, 0.1, 10.0),  # dimples
        (au15, _SIDES * (mw0 + 0.02), my + 0.13, 0.12, 0.08, 10.0),  # depressed corners
        (au17, 0.0, chin_y - 0.13, 0.2, 0.12, 10.0),  # dimpled chin boss
        (au20, _SIDES * (mw0 + 0.2), my + 0.13, 0.1, 0.14, 10.0),  # stretched lower face
        (au23, _SIDES * 0.13, my - 0.065, 0.1, 0.05, 10.0),  # pressed lips: furrows above them
        (au25, 0.0, my + 0.08, 0.17, 0.06, 10.0),  # parted lips: shadow of the lower lip
        (au26, 0.0, chin_y + 0.05, 0.37, 0.12, 10.0),  # dropped jaw: shadow under the chin
        (au45, _SIDES * (es + 0.13), ey + 0.02, 0.07, 0.05, 10.0),  # closed lids: lash line at the corners
    )
    parts = [np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float), np.asarray(rx, float),
                                 np.asarray(ry, float), -au * per_unit * contrast[..., None])
             for au, x, y, rx, ry, per_unit in bumps]
    shading = {name: np.concatenate([p[i].reshape(n, -1) for p in parts], axis=1)
               for i, name in enumerate(("x", "y", "rx", "ry", "amplitude"))}

    # Lines on the skin (before beard and hair, which may cover them).
    rows = np.arange(3.0).reshape(1, 3, 1)
    u9 = _grid(9)
    y0 = brow_y - 0.12 - 0.075 * rows - 0.004 * (au1 + au2)
    add(_strips(_points(0.17 * u9, y0 - 0.02 * (1 - u9**2)), 0.022), line_color(0.18 * on1), on1 > 0)
    side_rows = _SIDES[..., None]  # (1, 2, 1, 1) against rows (1, 1, 3, 1)
    lateral = _points(side_rows * (0.28 + 0.15 * u9), y0[:, None] + 0.015 * u9 * side_rows - 0.01).reshape(n, 6, 9, 2)
    add(_strips(lateral, 0.022), line_color(0.18 * on2), on2 > 0)
    add(_strips(_points(0.42 * u9, y0 + 0.01 - 0.015 * (1 - u9**2)), 0.022), line_color(0.45 * wrinkles),
        wrinkles > 0.05)
    furrows = _bezier((_SIDES * 0.035, brow_y - 0.09), (_SIDES * 0.05, brow_y - 0.02), (_SIDES * 0.03, brow_y + 0.05), 6)
    add(_strips(furrows, 0.026), line_color(0.2 * on4), on4 > 0)
    u7 = _grid(7)
    add(_strips(_points(0.075 * u7, ey + 0.03 + 0.035 * rows - 0.012 * (1 - u7**2)), 0.02), line_color(0.16 * on9),
        on9 > 0)
    crow = np.minimum(1.0, 0.13 * on6 + 0.4 * wrinkles)
    ray_dy = np.array([-0.06, 0.0, 0.06]).reshape(1, 1, 3)
    ray_start = _points(_SIDES * (es + ew + 0.03) + 0 * ray_dy, ey + 0.3 * ray_dy)  # (N, 2 sides, 3 rays, 2)
    ray_end = _points(_SIDES * (es + ew + 0.1) + 0 * ray_dy, ey + ray_dy)
    rays = np.stack([ray_start, (ray_start + ray_end) / 2, ray_end], axis=-2).reshape(n, 6, 3, 2)
    add(_strips(rays, 0.016), line_color(crow), crow > 0.03)
    cheek = np.minimum(1.0, 0.15 * on6 + 0.35 * wrinkles)
    add(_strips(_points(_SIDES * es + 1.1 * ew * u9, ey + 0.5 * ew + 0.1 - 0.016 * au6 - 0.05 * (1 - u9**2)), 0.022),
        line_color(cheek), cheek > 0.03)
    add(_ellipse(_SIDES * (es + 0.02), ey + 0.3 - 0.015 * au6, 0.11, 0.07, 14),
        highlight(0.05 * au6 + 0.03 * au12), au6 + au12 > 2 * LINE_ONSET)

    # Mouth and nose geometry, and the folds around them.
    mw = col(idn["mouth_width"]) * (1 + 0.07 * au12 + 0.1 * au20 - 0.035 * au14 - 0.05 * au23)
    corner_dy = -0.04 * au12 + 0.045 * au15 + 0.008 * au20 - 0.006 * au14 + 0.012 * au17
    mouth_y = my - 0.004 * au12 - 0.012 * au17
    corner_y = mouth_y + corner_dy
    nw = col(idn["nose_width"]) * (1 + 0.05 * au9 + 0.02 * au10)
    nose_y = ny - 0.012 * au9 - 0.005 * au10
    nasolabial = np.minimum(1.0, 0.12 + 0.08 * au12 + 0.1 * au10 + 0.08 * au9 + 0.04 * au6 + 0.4 * wrinkles)
    folds = _bezier((_SIDES * (nw + 0.03), nose_y - 0.02), (_SIDES * (mw + 0.1), my - 0.06),
                    (_SIDES * (mw + 0.06), corner_y + 0.08), 9)
    add(_strips(folds, 0.026), line_color(nasolabial))
    dimples = _bezier((_SIDES * (mw + 0.03), corner_y - 0.045), (_SIDES * (mw + 0.055), corner_y),
                      (_SIDES * (mw + 0.03), corner_y + 0.045), 5)
    add(_strips(dimples, 0.032), line_color(0.22 * on14), on14 > 0)
    marionette = np.minimum(1.0, 0.18 * on15 + 0.4 * wrinkles)
    lines = _bezier((_SIDES * (mw + 0.01), corner_y + 0.02), (_SIDES * (mw + 0.03), corner_y + 0.08),
                    (_SIDES * (mw + 0.06), corner_y + 0.15), 6)
    add(_strips(lines, 0.024), line_color(marionette), marionette > 0.03)

    perioral_x = np.array([-0.06, 0.0, 0.06]).reshape(1, 3, 1)
    perioral = _bezier((perioral_x, my - 0.1), (perioral_x + 0.005, my - 0.075), (perioral_x, my - 0.05), 4)
    add(_strips(perioral, 0.018), line_color(0.17 * on23), on23 > 0)  # lines above pressed lips (AU23)
    thinning = (1 - 0.14 * au23) * (1 - 0.05 * au20) * (1 - 0.03 * au12)
    upper_lip = col(idn["lip_thickness"]) * thinning
    lower_lip = col(idn["lip_thickness"]) * 1.3 * thinning * (1 + 0.05 * au17)
    gap_top = 0.008 * au25 + 0.022 * au10
    gap_bottom = 0.016 * au25 + 0.032 * au26
    u16 = _grid(16)
    mouth_profile = 1 - u16**2
    x = mw * u16
    line_y = mouth_y + corner_dy * u16**2
    top = line_y - gap_top * mouth_profile
    bottom = line_y + gap_bottom * mouth_profile
    upper_outer = top - upper_lip * _CUPID_BOW
    lower_outer = bottom + lower_lip * np.sqrt(mouth_profile)

    sulcus_y = lower_outer[..., 8:9] + 0.05 - 0.007 * au17 - 0.02 * (1 - u9**2)
    sulcus = np.minimum(1.0, 0.06 + 0.15 * on17 + 0.2 * wrinkles)
    add(_strips(_points(0.13 * u9, sulcus_y), 0.028), line_color(sulcus))
    dots_x = np.array([-0.06, 0.0, 0.06, -0.03, 0.03]).reshape(1, 5, 1)
    dots_y = np.array([0.0, -0.02, 0.0, 0.04, 0.04]).reshape(1, 5, 1)
    add(_ellipse(dots_x, jaw_warp(chin_y - 0.13) + dots_y, 0.018, 0.014, 8), line_color(0.08 * on17), on17 > 0)

    sideburn = outline[..., 1:24, :]  # right side, round the chin, to the left side
    cheek_line = _points(np.concatenate([-(mw + 0.1), -0.6 * mw, 0 * mw, 0.6 * mw, mw + 0.1], axis=-1),
                         np.concatenate([my - 0.05, ny + 0.07, ny + 0.05, ny + 0.07, my - 0.05], axis=-1))
    beard = idn["beard"]
    add(_polygon(sideburn, cheek_line), _mix(skin, hair_dark, 0.3 + 0.6 * beard), beard > 0)

    _add_hair(add, idn, n, col, style, brow_y, ey, ny, my, hair_rx, hair_ry)

    # Brows.
    inner_x = _SIDES * (es - 0.9 * ew - 0.015 * au4)
    outer_x = _SIDES * (es + 1.35 * ew)
    inner_y = brow_y + 0.01 - 0.035 * au1 + 0.035 * au4 + 0.006 * au9
    outer_y = brow_y + 0.015 - 0.035 * au2 + 0.018 * au4
    peak = (0.4 * inner_x + 0.6 * outer_x,
            0.5 * (inner_y + outer_y) - 2 * col(idn["brow_arch"]) - 0.02 - 0.012 * au2 + 0.006 * au4)
    brows = _bezier((inner_x, inner_y), peak, (outer_x, outer_y), 10)
    brow_rgb = _mix(_mix(hair_dark, (20.0, 15.0, 12.0), 0.3), (170.0, 170.0, 165.0), 0.6 * idn["grey"])
    add(_strips(brows, col(idn["brow_thickness"])), brow_rgb)

    # Eyes: the opening between two parabolic lids, iris and pupil clipped to it, lashes and lid lines.
    # Lid heights above/below the corner line add up the AUs (AU05 and AU45 are antagonists that sum, so each stays
    # readable whatever the other does); a lid never passes the other.
    upper_rest, lower_rest = 0.55 * ew, 0.35 * ew
    upper_h = upper_rest + ew * (0.11 * au5 - 0.017 * au7 - 0.011 * au6)
    lower_h = np.maximum(0.05 * ew, lower_rest - ew * (0.056 * au7 + 0.035 * au6 - 0.01 * au5))
    upper_open = np.maximum(upper_h - (upper_rest + lower_rest) * au45 / 5.0, -lower_h)
    ex = _SIDES * es
    u12 = _grid(12)
    eye_profile = 1 - u12**2
    upper_profile = _arch(eye_profile)
    xs = ex + ew * u12
    up_y, low_y = ey - upper_open * upper_profile, ey + lower_h * eye_profile
    add(_strips(_points(ex + 0.9 * ew * u12, ey - (upper_h + 0.06) * upper_profile * 0.9 - 0.01), 0.016),
        line_color(0.15 + 0.08 * au5))  # the lid fold deepens as the lid retracts into it
    add(_strips(_points(ex + 0.8 * ew * u12, ey + lower_h * eye_profile + 0.04 - 0.01 * eye_profile), 0.02),
        line_color(0.17 * on7), on7 > 0)  # the bulge of a tightened lower lid
    add(_polygon(_points(xs, up_y), _points(xs, low_y)[..., ::-1, :]), (235.0, 235.0, 228.0))
    for radius, rgb in ((0.5, idn["iris"]), (0.22, (15.0, 12.0, 12.0))):
        circle = _ellipse(ex, ey - 0.05 * ew, radius * ew, radius * ew, 16)
        cu = np.clip((circle[..., 0] - ex) / ew, -1.0, 1.0)
        cp = 1 - cu**2
        add(_points(circle[..., 0], np.clip(circle[..., 1], ey - upper_open * _arch(cp), ey + lower_h * cp)), rgb)
    add(_strips(_points(xs, low_y + 0.004), 0.014), line_color(0.4 + 0.1 * au7))
    lash_u = np.minimum(_grid(10, -1.0, 1.08), 1.0)
    lash_x = ex + ew * _grid(10, -1.0, 1.08) * _SIDES
    add(_strips(_points(lash_x, ey - upper_open * _arch(1 - lash_u**2) - 0.004), 0.032), (30.0, 22.0, 20.0))

    # Nose.
    add(_strips(_bezier((-0.06, ey + 0.03), (-nw * 0.7, ny - 0.12), (-nw * 0.75, nose_y - 0.05), 8), 0.02),
        line_color(0.18))
    alae = _bezier((_SIDES * nw * 0.85, nose_y - 0.06), (_SIDES * nw * 1.25, nose_y + 0.03),
                   (_SIDES * nw * 0.35, nose_y + 0.05), 8)
    add(_strips(alae, 0.024), line_color(0.4))
    add(_ellipse(_SIDES * nw * 0.5, nose_y + 0.032, nw * 0.3, nw * 0.13, 12), _mix(skin, (20.0, 10.0, 10.0), 0.7))

    # Lips, mouth line, opening and teeth.
    lips = idn["lips"]
    upper = _polygon(_points(x, upper_outer), _points(x, top)[..., ::-1, :])
    lower = _polygon(_points(x, bottom), _points(x, lower_outer)[..., ::-1, :])
    add(np.concatenate([upper, lower], axis=1), lips)
    add(_strips(_points(1.04 * x, line_y + 0.002), 0.016 + 0.003 * au23), _mix(lips, _DARK, 0.6 + 0.06 * au23))
    gap = (gap_top + gap_bottom).reshape(n)
    interior = _mix(_mix(lips, _DARK, 0.65), (55.0, 22.0, 25.0), gap / 0.02)
    add(_polygon(_points(x, top), _points(x, bottom)[..., ::-1, :]), interior, gap > 0.01)
    teeth_top = np.minimum(top + 0.035 * _TEETH_PROFILE, bottom - 0.2 * gap_bottom * mouth_profile)
    add(_polygon(_points(x, top), _points(x, teeth_top)[..., ::-1, :]),
        _mix(interior, (215.0, 210.0, 198.0), (gap - 0.01) / 0.03), gap > 0.01)
    teeth_bottom = np.maximum(bottom - 0.025 * _TEETH_PROFILE, teeth_top)
    add(_polygon(_points(x, teeth_bottom), _points(x, bottom)[..., ::-1, :]),
        _mix(interior, (205.0, 200.0, 190.0), (gap_bottom.reshape(n) - 0.08) / 0.05), gap_bottom > 0.08)
    return layers, outline, shading


_U16 = np.linspace(-1.0, 1.0, 16)
_CUPID_BOW = np.sqrt(1 - _U16**2) * (1 - 0.3 * np.exp(-((_U16 / 0.18) ** 2)))
_TEETH_PROFILE = (1 - _U16**2) ** 0.3
_FRINGE_PROFILE = np.abs(np.linspace(1.0, -1.0, 12)) ** 6


def _add_hair(add, idn, n, col, style, brow_y, ey, ny, my, rx, ry) -> None:
    """The hair cap from the crown down to the hairline; long styles add locks framing the face."""
    fw, fh = col(idn["face_width"]), col(idn["face_height"])
    temple_y = ey - 0.1
    hairline_y = FACE_CENTER_Y - fh * (0.45 + 0.35 * col(idn["hairline"]))
    crown = _ellipse(0.0, FACE_CENTER_Y - 0.02, rx, ry, 40)[..., 20:, :]  # left side, over the top, to the right
    right_temple, left_temple = (fw * 0.97, temple_y), (-fw * 0.97, temple_y)
    rounded = _bezier(right_temple, (0.0 * fw, 2 * hairline_y - temple_y), left_temple, 12)
    side_part = _bezier(right_temple, (fw * 0.25, hairline_y - 0.05), (-fw * 0.97, temple_y + 0.08), 12)
    fringe_y = brow_y - 0.08
    fringe = _points(fw * 0.97 * _grid(12, 1.0, -1.0), fringe_y + (temple_y - fringe_y) * _FRINGE_PROFILE)
    hairline = np.where(style == _STYLE["fringe"], fringe, np.where(style == _STYLE["side_part"], side_part, rounded))
    lock_end = np.where(style[..., 0] == _STYLE["long"], my + 0.05, ny + 0.05)
    framed = _polygon(_points(-fw * 0.9, lock_end), _points(-rx * 1.05, lock_end + 0.04), crown,
                      _points(rx * 1.05, lock_end + 0.04), _points(fw * 0.9, lock_end), hairline)
    cap = _polygon(_points(-rx, temple_y), _points(-rx, temple_y), crown, _points(rx, temple_y),
                   _points(rx, temple_y), hairline)
    long_hair = (style == _STYLE["long"]) | (style == _STYLE["bob"])
    buzz = (idn["hair_style"] == _STYLE["buzz"]).astype(float)
    add(np.where(long_hair, framed, cap), _mix(idn["hair"], idn["skin"], 0.45 * buzz))


# --- rasterising ---------------------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _light_axes(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    return axis[None, None, :, None], axis[None, :, None, None]


ALIGNED_EYE_Y, ALIGNED_MOUTH_Y = -0.06, 0.445  # where aligned faces put the eye line and the mouth line


def face_to_image(identity: dict[str, np.ndarray], nuisance: dict[str, np.ndarray], size: int, zoom: float,
                  aligned: bool) -> tuple[np.ndarray, ...]:
    """Per-face affine map (a, b, c, d, e, f), each (N,), from face units to image pixels (pixel centres at
    0..size-1): px = a x + b y + c, py = d x + e y + f.

    `aligned` first scales and shifts the face so that its eye line and mouth line land on fixed heights, as
    landmark-aligned crops (OpenFace, CelebA, UTKFace chips) do; then the nuisance shifts, scales and rotates it.
    """
    if aligned:
        eye_y = identity["eye_height"]
        mouth_y = eye_y + identity["nose_length"] + identity["mouth_gap"]
        s = (ALIGNED_MOUTH_Y - ALIGNED_EYE_Y) / (mouth_y - eye_y)
        t = ALIGNED_EYE_Y - s * eye_y
    else:
        s, t = np.ones(len(nuisance["scale"])), np.zeros(len(nuisance["scale"]))
    half = 0.5 * size * zoom * nuisance["scale"]
    angles = [math.radians(r) for r in nuisance["rotation"].tolist()]
    cos = np.array([math.cos(a) for a in angles]) * half
    sin = np.array([math.sin(a) for a in angles]) * half
    cx = 0.5 * (size - 1) + nuisance["shift_x"] * size
    cy = 0.5 * (size - 1) + nuisance["shift_y"] * size
    return cos * s, -sin * s, cx - sin * t, sin * s, cos * s, cy + cos * t


def _canvas_map(affine: tuple[np.ndarray, ...], factor: int) -> tuple[np.ndarray, ...]:
    """The image map moved to a canvas `factor` times larger, in fixed-point units, as (N, 1, 1) columns."""
    a, b, c, d, e, f = (factor * _FIXED * v for v in affine)
    shift = 0.5 * (factor - 1) * _FIXED
    return tuple(v.reshape(-1, 1, 1) for v in (a, b, c + shift, d, e, f + shift))


def _to_pixels(points: np.ndarray, mapping) -> np.ndarray:
    a, b, c, d, e, f = mapping
    n = len(points)
    flat = points.reshape(n, -1, 2)
    x, y = flat[..., 0:1], flat[..., 1:2]
    pixel = np.concatenate([x * a + y * b + c, x * d + y * e + f], axis=-1)
    return np.rint(pixel).astype(np.int32).reshape(points.shape)


def _canvas_colors(rgb: np.ndarray, channels: int) -> list:
    if channels == 1:
        return (rgb[:, 0:1] * _LUMA[0] + rgb[:, 1:2] * _LUMA[1] + rgb[:, 2:3] * _LUMA[2]).tolist()
    return rgb.tolist()


def render_columns(identity: dict[str, np.ndarray], aus: np.ndarray, nuisance: dict[str, np.ndarray], size: int,
                   channels: int, zoom: float = 1.0, face_mask: bool = False, aligned: bool = False) -> np.ndarray:
    """uint8 (N, size, size, channels) faces from identity/nuisance columns and (N, 17) AUs (inputs checked by the
    caller, `ccyclegan.data.synthetic`)."""
    n = len(aus)
    factor = 2 if size < SUPERSAMPLED_BELOW else 1
    side = size * factor
    layers, outline, shading = _face_layers(identity, np.asarray(aus, dtype=np.float64))
    affine = face_to_image(identity, nuisance, size, zoom, aligned)
    mapping = _canvas_map(affine, factor)
    drawn = [(_to_pixels(layer.points, mapping), _canvas_colors(layer.rgb, channels),
              None if layer.enabled is None else layer.enabled.tolist()) for layer in layers]
    canvases = np.empty((n, side, side, channels), np.uint8)
    canvases[:] = np.rint(np.asarray(_canvas_colors(nuisance["background"], channels)))[:, None, None, :]
    fill, aa = cv2.fillPoly, cv2.LINE_AA
    for i in range(n):
        canvas = canvases[i]
        for polygons, colors, enabled in drawn:
            if enabled is None or enabled[i]:
                fill(canvas, polygons[i], colors[i], aa, SUBPIXEL_BITS)
    images = _downsample(canvases, factor)
    images = _shade_light_and_noise(images, shading, nuisance, affine)
    if face_mask:
        images = _mask_outside_face(images, outline, identity, mapping, side, factor)
    return images


def _downsample(canvases: np.ndarray, factor: int) -> np.ndarray:
    """Average factor x factor blocks (cv2.INTER_AREA for an integer factor), rounding half up."""
    if factor == 1:
        return canvases
    wide = canvases.astype(np.uint16)
    total = sum(wide[:, dy::factor, dx::factor] for dy in range(factor) for dx in range(factor))
    area = factor * factor
    return ((total + area // 2) // area).astype(np.uint8)


def _shade_light_and_noise(images: np.ndarray, shading: dict, nuisance: dict[str, np.ndarray],
                           affine: tuple[np.ndarray, ...]) -> np.ndarray:
    """Add the AU shading bumps, multiply by the lighting gradient, add Gaussian noise (from each face's seed).

    A bump is (1 - u^2)^2 (1 - v^2)^2 inside its ellipse (u, v the offsets over the radii, the ellipse kept upright),
    so the shading of several AUs adds up linearly and fades smoothly (only arithmetic: the same bytes in any batch).
    """
    n, size = images.shape[:2]
    pixels = images.astype(np.float32)
    a, b, c, d, e, f = (v.reshape(n, 1) for v in affine)
    x, y = shading["x"], shading["y"]
    centre_x, centre_y = a * x + b * y + c, d * x + e * y + f
    scale_x, scale_y = np.sqrt(a * a + d * d), np.sqrt(b * b + e * e)
    grid = np.arange(size, dtype=np.float32)
    field = np.zeros((n, size, size), np.float32)
    amplitude = shading["amplitude"].astype(np.float32)
    for k in np.flatnonzero(np.any(amplitude != 0, axis=0)).tolist():
        u = (grid - centre_x[:, k:k + 1].astype(np.float32)) / (scale_x * shading["rx"][:, k:k + 1]).astype(np.float32)
        v = (grid - centre_y[:, k:k + 1].astype(np.float32)) / (scale_y * shading["ry"][:, k:k + 1]).astype(np.float32)
        bump_x = np.square(np.maximum(1.0 - u * u, 0.0))
        bump_y = np.square(np.maximum(1.0 - v * v, 0.0)) * amplitude[:, k:k + 1]
        field += bump_y[:, :, None] * bump_x[:, None, :]
    pixels += field[..., None]
    strength, sigma = nuisance["light_strength"], nuisance["noise_sigma"]
    if np.any(strength):
        angles = nuisance["light_angle"].tolist()
        cos = np.array([math.cos(a) for a in angles], np.float32).reshape(n, 1, 1, 1)
        sin = np.array([math.sin(a) for a in angles], np.float32).reshape(n, 1, 1, 1)
        ax, ay = _light_axes(size)
        pixels *= 1.0 + strength.astype(np.float32).reshape(n, 1, 1, 1) * (cos * ax + sin * ay)
    channels = images.shape[-1]
    for i, (seed, s) in enumerate(zip(nuisance["noise_seed"].tolist(), sigma.tolist())):
        if s:
            pixels[i] += np.float32(s) * _noise_window(seed, size, channels)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


NOISE_FIELD_SIDE = 2048
NOISE_FIELD_SEED = 20240611


@lru_cache(maxsize=1)
def _noise_field() -> np.ndarray:
    """One fixed field of standard normal noise; a face's noise seed picks its window (cheaper than a generator
    per face, and the same bytes on every machine)."""
    rng = np.random.default_rng(NOISE_FIELD_SEED)
    return rng.standard_normal((NOISE_FIELD_SIDE, NOISE_FIELD_SIDE), dtype=np.float32)


def _noise_window(seed: int, size: int, channels: int) -> np.ndarray:
    field = _noise_field()
    width = size * channels
    top = seed % (NOISE_FIELD_SIDE - size + 1)
    left = (seed // NOISE_FIELD_SIDE) % (NOISE_FIELD_SIDE - width + 1)
    return field[top:top + size, left:left + width].reshape(size, size, channels)


def _mask_outside_face(images, outline, identity, mapping, side: int, factor: int) -> np.ndarray:
    """Black outside the face, as OpenFace's masked aligned faces (the forehead cut a little above the brows)."""
    n = len(images)
    top = (identity["eye_height"] - identity["brow_gap"] - 0.2).reshape(n, 1, 1)
    polygon = _to_pixels(_points(outline[..., 0], np.maximum(outline[..., 1], top)), mapping)
    masks = np.zeros((n, side, side, 1), np.uint8)
    for i in range(n):
        cv2.fillPoly(masks[i], polygon[i], (255,), cv2.LINE_AA, SUBPIXEL_BITS)
    masks = _downsample(masks, factor).astype(np.uint16)
    return ((images.astype(np.uint16) * masks + 127) // 255).astype(np.uint8)
