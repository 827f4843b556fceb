#!/usr/bin/env python3
"""Run the landmark cascade on images and draw the result (the seed's demo).

    python 3_demo/Code/inference.py                        # the shipped demo images
    python 3_demo/Code/inference.py --images DIR           # your photos (no labels)
    python 3_demo/Code/inference.py --list LIST --format {celeba,cuhk,mtfl}

Draws ground truth green (when labelled), level 1 red, level 2 blue, the face
region yellow, into 3_demo/Result/draw_img/, and prints the time per image.
Level 1's region: the list's face box when it has one; else our MTCNN
detector's boxes when its models are shipped (--region detect, --detect);
else the whole image (the seed's mode).  With --detect an image without a
detected face gets no points (named on stderr, counted in the last line);
--region auto uses the whole image there.  Runs on pycaffe, or on OpenCV's
DNN module when Caffe is not built (--backend).
"""
from facecascade.cli import run
from facecascade.commands.demo import main

if __name__ == "__main__":
    run(main, doc=__doc__)
