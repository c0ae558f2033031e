"""A short video made on the spot: a drawn face crossing the frame, so the detector has something to find."""

from __future__ import annotations

import subprocess
from pathlib import Path

from scar_operator.local.tools import ffmpeg_executable

WIDTH, HEIGHT, FPS = 320, 240, 10


def _frame(t: float) -> bytes:
    import cv2
    import numpy as np

    image = np.full((HEIGHT, WIDTH, 3), (235, 220, 200), np.uint8)  # BGR
    cx, cy = int(90 + 140 * t), 120
    cv2.ellipse(image, (cx, cy), (55, 72), 0, 0, 360, (225, 170, 140), -1)
    for dx in (-22, 22):
        cv2.ellipse(image, (cx + dx, cy - 15), (11, 6), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(image, (cx + dx, cy - 15), 5, (20, 30, 40), -1)
        cv2.line(image, (cx + dx - 14, cy - 32), (cx + dx + 14, cy - 34), (60, 40, 40), 4)
    cv2.line(image, (cx, cy - 8), (cx - 6, cy + 14), (180, 120, 100), 3)
    cv2.ellipse(image, (cx, cy + 32), (20, 8), 0, 0, 180, (170, 60, 60), 4)
    return bytes(image.tobytes())


def make_video(path: Path, seconds: int = 5) -> Path:
    frames = seconds * FPS
    process = subprocess.Popen(
        [ffmpeg_executable(), "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24",
         "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS), "-i", "-", "-c:v", "mpeg4", "-q:v", "3", str(path)],
        stdin=subprocess.PIPE,
    )
    assert process.stdin is not None
    for i in range(frames):
        process.stdin.write(_frame(i / max(frames - 1, 1)))
    process.stdin.close()
    if process.wait() != 0:
        raise RuntimeError("ffmpeg could not encode the sample video")
    return path
