#!/usr/bin/env python3
"""Level-2 training data: the seed's crop around level-1 points -> 48x48 PNG + list line.

The crop is a square centred on level 1's nose, clipped to the image.  Its
half-side is --l2-half-factor x a length measured on level 1's points: the seed
uses 2 x |nose - left eye| (--l2-scale left_eye --l2-half-factor 2); the shipped
level 2 uses 1.35 x the mean |nose - other point| (the defaults), which follows
the face's size rather than its pose.  Level-1 points come from
  --l1-predictions FILE   3_inference's output for the same records list (first
                          sample of each face), the rest simulated around them; or
  (default)               simulated from the ground truth with a level-1-like
                          error (see facecascade.datagen.AugmentConfig.l1_*), so
                          level 2 can be trained while level 1 still trains.
Output: 2_level_2/Data/l2_train.txt, l2_test.txt and their image folders.

    python 1_level_1/Code/5_crop_img/crop_img.py
"""


from facecascade.cli import run
from facecascade.commands.landmark_data import main

if __name__ == "__main__":
    run(main, level=2, doc=__doc__)
