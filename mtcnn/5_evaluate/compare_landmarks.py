#!/usr/bin/env python3
"""NME on cuhk_facepoint/test_net7876.txt: the landmark cascade run on OUR
detector's boxes vs our O-Net's own 5 points, on the same faces.

For each test image the MTCNN detection that overlaps the annotated face box
most is taken (IoU >= --min-iou; CUHK boxes are tighter than detector boxes,
hence a low default); images without one count as missed for both.
NME = mean over the 5 points of ||pred - gt|| / ||gt left eye - gt right eye||
(../shared/docs/METRICS.md).  The last line printed is one JSON object.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_compare_landmarks import main

if __name__ == "__main__":
    run(main, doc=__doc__)
