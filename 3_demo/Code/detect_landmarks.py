#!/usr/bin/env python3
"""End to end: any photo -> every face (our MTCNN) -> refined 5 points (the
landmark cascade, level 1 + level 2, run on each detected box).

Writes <out>/landmarks.json ({image: [{box, score, onet_landmarks, landmarks}]},
points in image pixels: image-left eye, image-right eye, nose, image-left and
image-right mouth corner) and <out>/drawn/<name>.jpg (box yellow, O-Net points
red, cascade points green).  --align also writes every face warped by the
similarity transform of its refined 5 points onto the 112x112 five-point
(ArcFace) template: <out>/aligned/<name>_<k>.png.

  python 3_demo/Code/detect_landmarks.py photo.jpg --align
  python 3_demo/Code/detect_landmarks.py 3_demo/Data/celeba --out /tmp/demo
"""
from facecascade.cli import run
from facecascade.commands.detect_landmarks import main

if __name__ == "__main__":
    run(main, doc=__doc__)
