#!/usr/bin/env python3
"""Where the detector loses faces, stage by stage, on wider_train images
(training images: a diagnosis of what the nets learnt, not an accuracy figure)
or, with --gt, on any WIDER-format set (on wider_eval it shows where test faces
are lost; a diagnosis, the accuracy figure is mtcnn/evaluate.py's AP).

For --limit N wider_train images evenly spaced over the file, faces >= 20 px:
  - recall at IoU 0.5 after P-Net, R-Net and O-Net (medium 20-49, large >= 50, all);
  - faces P-Net found but R-Net dropped: the best IoU of their P-Net boxes and
    the highest R-Net score among those boxes;
  - faces R-Net found but O-Net dropped: rejected by score (< threshold), lost
    by O-Net's box regression (IoU < 0.5 after it), or by the final NMS, with
    O-Net's score and the IoU of the R-Net box it saw;
  - box regression: IoU with the face of the best box going into R-Net and of
    R-Net's output, for the faces R-Net keeps.
The last line printed is one JSON object.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_diagnose import main

if __name__ == "__main__":
    run(main, doc=__doc__)
