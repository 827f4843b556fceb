#!/usr/bin/env python
"""Step 1: train P-Net (12x12) on mtcnn/Data/random_12.npz.

Batches hold negatives : positives : parts = 3 : 1 : 1.  Writes
mtcnn/Result/pnet/{pnet_train,pnet_deploy,pnet_solver}.prototxt, pnet.caffemodel,
train.log, loss.png; --ship mtcnn/model copies det1.prototxt/.caffemodel there.
Run single-threaded: OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1.
"""


from facecascade.cli import run
from facecascade.mtcnn.sampling import NEG, PART, POS
from facecascade.mtcnn.trainer_cli import training_cli

if __name__ == "__main__":
    run(training_cli, "pnet", ["random_12.npz"], default_iters=20000, default_batch=256,
                shares={NEG: 3, POS: 1, PART: 1}, doc=__doc__)
