#!/usr/bin/env python3
"""Hard examples for the next stage (the MTCNN paper's method): run the trained
previous stage(s) on the training images and label every candidate it keeps
by its IoU with the ground truth (negative < 0.3, part 0.4-0.65, positive
>= 0.65).  The crops are taken exactly as the detector takes them
(MTCNN.crop_candidates).

  --stages 1 --size 24: P-Net candidates -> R-Net data (mtcnn/Data/hard_24.npz)
  --stages 1 --size 12: P-Net candidates -> P-Net's own hard examples, for a
                        P-Net fine-tune that passes fewer non-faces (hard_12.npz)
  --stages 2 --size 48: P-Net + R-Net candidates -> O-Net data (hard_48.npz)
  --stages 3 --size 24|48: the whole detector's false boxes (its output, with its
                        defaults, scored >= --false-floor, IoU < 0.3 with every
                        face) -> negatives for R-Net / O-Net (false_24.npz,
                        false_48.npz; train_*.py --false-neg-share); wider_train
                        by default.  CUHK labels one face per photo, so the other
                        faces the detector finds there would be taught as
                        non-faces: CUHK photos (--cuhk-limit) are mined only with
                        --false-ceiling, which keeps the false boxes scored below
                        it (unlabelled faces mostly score higher than clutter)

Images: wider_train (all faces, box targets) and cuhk_facepoint train
(classification only: one annotated face per image, CUHK's tighter box).
wider_eval is never read.  Prints candidate counts per class and the recall of
the stage on wider_train faces >= min face (what the next stage can still find).
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_mine import main

if __name__ == "__main__":
    run(main, doc=__doc__)
