#!/usr/bin/env python3
"""Adapter for facenet-pytorch's MTCNN (run with bench/.venvs/facenet_pytorch/bin/python).
Protocol: bench/peers/_common.py.  RGB input, CPU, min face --min-face,
thresholds 0.6/0.7/0.7, factor 0.709; points: its O-Net 5 points (image-left
eye first, checked on the CUHK test list)."""


from _common import base_args, clean, serve, single_thread_env


def main():
    args = base_args().parse_args()
    single_thread_env(args.threads)
    import importlib.metadata as md

    import torch
    from facenet_pytorch import MTCNN
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    mtcnn = MTCNN(min_face_size=int(args.min_face), thresholds=[0.6, 0.7, 0.7], factor=0.709,
                  keep_all=True, post_process=False, device="cpu")

    def detect(img):
        boxes, probs, points = mtcnn.detect(img, landmarks=True)
        if boxes is None:
            return []
        return clean([{"box": b, "score": s, "points": p} for b, s, p in zip(boxes, probs, points)])

    serve("facenet_pytorch", args.task, detect,
          {"facenet-pytorch": md.version("facenet-pytorch"), "torch": torch.__version__},
          f"MTCNN min face {args.min_face:g}, factor 0.709, thresholds 0.6/0.7/0.7, "
          f"{args.threads} thread(s)")


if __name__ == "__main__":
    main()
