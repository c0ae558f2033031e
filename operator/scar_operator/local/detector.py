"""`detect IMAGE OUTDIR` on the host: a real neural network run on one frame, for the local runtime.

In AWS the darknet image's `detect` runs YOLO on each frame. On one machine nothing can be
downloaded at run time, so this runs the face detector that the mediapipe wheel ships (BlazeFace,
a small TFLite network) and writes what the seed's function writes: `<frame>.out` with one line
per detection, and `<frame>.png` with the detections drawn on the frame.
"""

from __future__ import annotations

import sys
from pathlib import Path


def detect(image_path: Path, output_dir: Path) -> int:
    import cv2
    import mediapipe as mp

    image = cv2.imread(str(image_path))
    if image is None:
        print(f"detect: {image_path} is not an image", file=sys.stderr)
        return 2
    height, width = image.shape[:2]
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as model:
        found = model.process(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).detections or []
    lines = [f"{image_path.name}: Predicted in BlazeFace (mediapipe {mp.__version__}), {len(found)} detections"]
    for detection in found:
        box = detection.location_data.relative_bounding_box
        x, y = int(box.xmin * width), int(box.ymin * height)
        w, h = int(box.width * width), int(box.height * height)
        score = float(detection.score[0])
        lines.append(f"face: {score:.0%} box=({x},{y},{w},{h})")
        cv2.rectangle(image, (x, y), (x + w, y + h), (0, 0, 255), 2)
        cv2.putText(image, f"face {score:.0%}", (x, max(y - 6, 12)), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 255), 1)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / f"{image_path.stem}.out").write_text("\n".join(lines) + "\n")
    cv2.imwrite(str(output_dir / f"{image_path.stem}.png"), image)
    print("\n".join(lines))
    return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: detect IMAGE OUTPUT_DIR", file=sys.stderr)
        return 2
    return detect(Path(argv[0]), Path(argv[1]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
