#!/usr/bin/env python3
"""Step 0: random training crops (12, 24 or 48 px) from the shared data.

  - wider_train: random negatives, negatives beside each face, jittered
    positive/part crops (box regression targets: WIDER's box convention);
  - cuhk_facepoint train: landmark crops (48 only), classification-only
    positives (CUHK boxes are tighter than WIDER's), negatives;
  - lfw5590_80x80 (48 only): landmark crops around a box fitted to the points;
  - CelebA as downloaded (--celeba-landmarks ...; train partition only when
    --celeba-partition is given): landmark crops (48 only) and classification-
    only positives around the box fitted to the 5 points in the CUHK
    convention (CelebA's own boxes are looser, taller than wide, and follow
    neither WIDER's nor CUHK's convention), negatives that overlap neither that
    box nor CelebA's box from list_bbox_celeba.txt (the whole head) by IoU 0.3.
wider_eval is never read here.  Output: mtcnn/Data/random_<size>.npz.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_sample import main

if __name__ == "__main__":
    run(main, doc=__doc__)
