#!/usr/bin/env python
"""Step 3: train O-Net (48x48): face score, box and 5 landmarks, on random
crops (with CUHK / LFW landmark crops) + hard examples mined with P-Net + R-Net.

  python mtcnn/0_sampling/sample_random.py --size 48
  python mtcnn/2_train_rnet/mine_hard_examples.py --stages 2        # -> mtcnn/Data/hard_48.npz
  python mtcnn/3_train_onet/train_onet.py --ship mtcnn/model

Batches hold negatives : positives : parts : landmarks = 3 : 1 : 1 : 2.
"""


from facecascade.cli import run
from facecascade.mtcnn.sampling import LANDMARK, NEG, PART, POS
from facecascade.mtcnn.trainer_cli import training_cli

if __name__ == "__main__":
    run(training_cli, "onet", ["random_48.npz", "hard_48.npz"], default_iters=8000, default_batch=128,
                shares={NEG: 3, POS: 1, PART: 1, LANDMARK: 2}, doc=__doc__)
