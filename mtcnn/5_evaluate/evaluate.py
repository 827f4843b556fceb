#!/usr/bin/env python3
"""Step 5: evaluate the MTCNN detector on WIDER-format ground truth.

AP at IoU 0.5 (VOC all-point) over all valid faces and by gt height bucket
(large >= 50, medium 20-50, small < 20 px), per docs/METRICS.md;
PR-curve PNG and the detections (WIDER prediction format, x y w h score)
under --out.  Timing: wall seconds of detect() per image (decoding
excluded), single thread, median.  The last line printed is one JSON object:
  n_images, ap_all, ap_large, ap_medium, ap_small (AP in %), sec_per_image,
  recall_all / precision_all (%, with every detection kept), ...
Detections are kept down to --min-score (0.05): soft-NMS's lowered scores
stay in the PR curve; --min-score 0.7 evaluates what detect.py returns.
"""
from facecascade.cli import run
from facecascade.commands.mtcnn_evaluate import main

if __name__ == "__main__":
    run(main, doc=__doc__)
