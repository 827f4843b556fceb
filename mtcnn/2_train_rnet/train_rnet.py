#!/usr/bin/env python
"""Step 2: train R-Net (24x24) on random crops + hard examples mined with P-Net.

  python mtcnn/0_sampling/sample_random.py --size 24
  python mtcnn/2_train_rnet/mine_hard_examples.py --stages 1        # -> mtcnn/Data/hard_24.npz
  python mtcnn/2_train_rnet/train_rnet.py --ship mtcnn/model

Batches hold negatives : positives : parts = 3 : 1 : 1 drawn from both files.
Pass --data mtcnn/Data/random_24.npz alone for the no-mining ablation.
"""


from facecascade.cli import run
from facecascade.mtcnn.sampling import NEG, PART, POS
from facecascade.mtcnn.trainer_cli import training_cli

if __name__ == "__main__":
    run(training_cli, "rnet", ["random_24.npz", "hard_24.npz"], default_iters=12000, default_batch=256,
                shares={NEG: 3, POS: 1, PART: 1}, doc=__doc__)
