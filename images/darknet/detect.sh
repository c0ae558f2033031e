#!/bin/sh
# detect IMAGE OUTDIR: YOLOv3-tiny on one image; writes OUTDIR/<name>.out and OUTDIR/<name>.png.
set -eu
image=$1
outdir=$2
name=$(basename "$image")
name=${name%.*}
mkdir -p "$outdir"
cd /opt/darknet
./darknet detector test cfg/coco.data cfg/yolov3-tiny.cfg yolov3-tiny.weights "$image" \
    -out "$outdir/$name" > "$outdir/$name.out" 2>&1
convert "$outdir/$name.jpg" "$outdir/$name.png"
rm -f "$outdir/$name.jpg"
cat "$outdir/$name.out"
