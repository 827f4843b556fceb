"""The shared command line of mtcnn/{1_train_pnet,2_train_rnet,3_train_onet}: flags,
sample files, the solver, one or two phases of training, the loss log and plot."""
import argparse
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from ..caffe_loader import add_device_arguments, import_caffe
from ..nets import flush_denormals
from ..paths import REPO_ROOT
from .augment import ROTATION_DEG
from .batches import BatchSampler
from .netspec import HEADS, INPUT_SIZE, write_prototxts, write_solver
from .sampling import POS_IOU, SampleSet
from .trainer import minutes_until, plot_losses, train

DET_NAMES = {"pnet": "det1", "rnet": "det2", "onet": "det3"}


def training_arguments(net, default_data, default_iters, default_batch, doc=None):
    """The trainers' flags (defaults per net)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+", default=[REPO_ROOT / "mtcnn" / "Data" / d for d in default_data],
                    help="sample files (.npz) from the sampling / mining steps")
    ap.add_argument("--out", type=Path, default=REPO_ROOT / "mtcnn" / "Result" / net,
                    help="folder for prototxts, solver, snapshots, loss log and plot")
    ap.add_argument("--iters", type=int, default=default_iters)
    ap.add_argument("--minutes", type=float, default=None,
                    help="instead of --iters: train for this much wall-clock time (lr / 10 for the last "
                         "quarter); for a CPU shared with other jobs, where iterations/s is unknown")
    ap.add_argument("--until", default=None, metavar="HH:MM",
                    help="like --minutes, up to this local wall-clock time")
    ap.add_argument("--phases", type=int, nargs=2, default=None, metavar=("N1", "N2"),
                    help="the two phases of --minutes by iteration counts: N1 steps at --lr, then N2 at "
                         "lr / 10 from a fresh solver; a --minutes run logs its N1 N2 at the end, and "
                         "--phases N1 N2 with the same data, flags and --seed repeats it (to the bit on the same "
                         "kind of CPU; elsewhere OpenBLAS rounds differently)")
    ap.add_argument("--batch", type=int, default=default_batch)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-steps", type=int, nargs="+", default=None,
                    help="iterations where the lr drops 10x (default 0.6 and 0.85 x --iters)")
    ap.add_argument("--pos-iou", type=float, default=POS_IOU,
                    help="parts with IoU >= this also train the face class (default %(default)s: positives only)")
    ap.add_argument("--box-weight", type=float, default=0.5, help="loss weight of box regression")
    ap.add_argument("--pts-weight", type=float, default=1.0,
                    help="O-Net: loss weight of the landmarks (0: face score and box only; the landmark "
                         "head can then be fitted afterwards, 3_train_onet/refit_landmark_head.py)")
    ap.add_argument("--hard-neg-share", type=float, default=0.5,
                    help="share of each batch's negatives drawn from the mined (hard_*.npz) negatives")
    ap.add_argument("--false-neg-share", type=float, default=0.0,
                    help="share of each batch's negatives drawn from the whole detector's false boxes "
                         "(false_*.npz in --data, mine_hard_examples.py --stages 3) in place of random ones "
                         "(default 0: not drawn)")
    ap.add_argument("--negatives-share", type=float, default=0.0,
                    help="share of each batch's negatives drawn from the face-free photos' crops "
                         "(negatives_*.npz in --data, mtcnn/0_sampling/sample_negatives.py) in place of random "
                         "ones (default 0: not drawn)")
    ap.add_argument("--gray-share", type=float, default=None,
                    help="make face crops and non-face crops grayscale in equal shares of at least this "
                         "(and at least the share of grayscale negatives, e.g. the face-free photos'); "
                         "default: 10%% of every batch at random, whatever its kind")
    ap.add_argument("--low-res", type=float, default=0.0,
                    help="share of each batch shrunk to 35-100%% of its side and blown back up "
                         "(soft, low-resolution faces as WIDER's 20-50 px ones)")
    ap.add_argument("--occlusion", type=float, default=0.0,
                    help="share of each batch's face / part / negative crops that get a rectangle "
                         "(20-50%% of each side) of another crop pasted in, as a partly hidden face")
    ap.add_argument("--rotation", type=float, default=0.0,
                    help="share of each batch turned by up to +-%g degrees about the crop centre, "
                         "targets turned with it (tilted faces)" % ROTATION_DEG)
    ap.add_argument("--blur-weight", type=float, default=1.0, metavar="W",
                    help="draw the face and part crops of faces WIDER labels heavily blurred W times as "
                         "often as the others (default 1: uniform); needs sample files made with the blur "
                         "field (sampling / mining since it exists)")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="R-Net / O-Net: Dropout ratio on the fully connected features before the "
                         "heads, training net only (the reference det3 uses 0.25)")
    ap.add_argument("--ohem", type=float, default=1.0, metavar="K",
                    help="online hard sample mining: only the share K of each batch's face/non-face "
                         "samples with the highest loss train the face score (the paper: 0.7; default 1: off)")
    ap.add_argument("--width", type=float, default=1.0,
                    help="channels of every trunk layer times this (default 1: the reference net; e.g. 0.5: "
                         "about a third of the multiply-adds); the detector reads any width from det*.prototxt")
    ap.add_argument("--save-every", type=int, default=1000)
    ap.add_argument("--keep-snapshots", action="store_true",
                    help="also keep every saved snapshot as snapshots/NET_iter_N.caffemodel in --out "
                         "(for weight averaging: experiments/tools/average_snapshots.py); the run's weights are unchanged")
    ap.add_argument("--resume", type=Path, default=None,
                    help="caffemodel to start from: fine-tuning, or going on after Ctrl-C from the run's own "
                         "--out/NET.caffemodel (saved on the way out; Adam's moments, the iteration count and "
                         "the lr schedule start afresh)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ship", type=Path, default=None,
                    help="also copy the final deploy prototxt + caffemodel here (e.g. mtcnn/model)")
    add_device_arguments(ap)
    return ap


def check_arguments(ap, args):
    if not 0.0 < args.ohem <= 1.0:
        ap.error(f"--ohem {args.ohem}: must be in (0, 1]")
    if args.phases and (args.minutes or args.until):
        ap.error("--phases: give either iteration counts or a wall-clock budget (--minutes / --until)")
    if args.phases and min(args.phases) < 0:
        ap.error(f"--phases {args.phases[0]} {args.phases[1]}: counts must be >= 0")


def load_samples(ap, args, net):
    """The sample files of --data -> (samples, mined mask, false-box mask, face-free photo mask)."""
    for p in args.data:
        if not Path(p).is_file():
            sys.exit(f"{p}: sample file not found (run the sampling / mining step first)")
    loaded = [SampleSet.load(p) for p in args.data]
    samples = SampleSet.concat(loaded)
    # samples from files written by the mining step (hard_*.npz)
    hard = np.concatenate([np.full(len(s), Path(p).name.startswith("hard"), bool) for s, p in zip(loaded, args.data)])
    # the whole detector's false boxes (false_*.npz)
    false = np.concatenate([np.full(len(s), Path(p).name.startswith("false"), bool) for s, p in zip(loaded, args.data)])
    # crops of the face-free photos (negatives_*.npz)
    photo = np.concatenate([np.full(len(s), Path(p).name.startswith("negatives"), bool)
                            for s, p in zip(loaded, args.data)])
    for flag, share, mask, files in (("--false-neg-share", args.false_neg_share, false, "false_*.npz"),
                                     ("--negatives-share", args.negatives_share, photo, "negatives_*.npz")):
        if not 0.0 <= share < 1.0:
            ap.error(f"{flag} {share}: must be in [0, 1)")
        if share and not mask.any():
            ap.error(f"{flag} {share}: no {files} among --data")
    if args.gray_share is not None and not 0.0 <= args.gray_share <= 1.0:
        ap.error(f"--gray-share {args.gray_share}: must be in [0, 1]")
    if samples.images.shape[1] != INPUT_SIZE[net]:
        sys.exit(f"{args.data}: samples are {samples.images.shape[1]} px, {net} needs {INPUT_SIZE[net]}")
    if args.blur_weight < 0:
        ap.error(f"--blur-weight {args.blur_weight}: must be >= 0")
    if args.blur_weight != 1.0 and not np.any(samples.blur >= 0):
        sys.exit(f"--blur-weight {args.blur_weight:g}: {' '.join(map(str, args.data))} hold no WIDER blur labels "
                 "(made before the samplers kept them): remake them with sample_random.py / mine_hard_examples.py")
    return samples, hard, false, photo


def line_logger(path):
    """print + append to `path`, one line at a time: nothing held open, nothing lost on a crash."""
    def log(msg):
        print(msg, flush=True)
        with open(path, "a") as logf:
            logf.write(msg + "\n")
    return log


def weight_saver(state, out, net, keep_snapshots):
    """save(it): the live net of state["solver"] -> out/NET.caffemodel, atomically (and a kept
    copy per call with keep_snapshots)."""
    def save(it):
        solver = state["solver"]
        final = out / f"{net}.caffemodel"
        tmp = out / f"{net}.tmp.caffemodel"
        # in the live net, not only in the saved copy: the zeroed weights are below
        # float32's resolution of any sum they join, and the training forwards and
        # backwards then stay off the cores' slow subnormal path too
        flush_denormals(solver.net)
        solver.net.save(str(tmp))
        if keep_snapshots:
            kept = out / "snapshots" / f"{net}_iter_{it}.caffemodel"
            kept.parent.mkdir(exist_ok=True)
            shutil.copyfile(tmp, kept.with_suffix(".tmp"))
            kept.with_suffix(".tmp").replace(kept)
        tmp.replace(final)
    return save


def run_two_phases(caffe, state, sampler, args, out, net, train_pt, log, save, ohem):
    """lr, then lr / 10 (a fresh solver started from the phase-1 weights), ended by the wall
    clock (--minutes: 3/4 and 1/4 of it) or by iteration counts (--phases).  Both stop after
    a step and save (which zeroes the live net's subnormal weights) at the same iterations,
    so --phases with a time run's counts gives that run's weights to the bit on the same
    kind of CPU."""
    if args.phases:
        (n1, n2), stop1, stop2 = args.phases, None, None
    else:
        n1 = n2 = 10 ** 9
        stop2 = time.time() + 60 * args.minutes
        stop1 = time.time() + 45 * args.minutes
    hist = train(state["solver"], sampler, n1, log=log, save=save, save_every=args.save_every, stop_at=stop1, **ohem)
    save(state["solver"].iter)
    solver2_pt = write_solver(caffe, out / f"{net}_solver_lr2.prototxt", train_pt, args.lr * 0.1, 10 ** 9,
                              [10 ** 9], out / net)
    done = state["solver"].iter
    state["solver"] = caffe.get_solver(str(solver2_pt))
    state["solver"].net.copy_from(str(out / f"{net}.caffemodel"))
    log(f"lr -> {args.lr * 0.1:g} after {done} iterations")
    hist2 = train(state["solver"], sampler, n2, log=log, save=save, save_every=args.save_every, stop_at=stop2,
                  iter_offset=done, **ohem)
    save(done + state["solver"].iter)
    log(f"phases: --phases {done} {state['solver'].iter} repeats this run by iteration counts")
    return hist + hist2


def describe_run(net, args, samples, hard, sampler, length, steps):
    return (f"{net}: {len(samples)} samples {samples.counts()} ({int(hard.sum())} mined); batch {args.batch} = "
            f"{sampler.count} + {sampler.n_hard_neg} mined negatives"
            f"{f' + {sampler.n_false_neg} false-box negatives ({len(sampler.false_neg)})' if sampler.n_false_neg else ''}"
            f"{f' + {sampler.n_photo_neg} face-free photo negatives ({len(sampler.photo_neg)})' if sampler.n_photo_neg else ''}; "
            f"gray share {'0.1 random' if args.gray_share is None else f'{args.gray_share:g} balanced'}; "
            f"{length}; lr {args.lr} steps {steps}; face label IoU >= {args.pos_iou} "
            f"({int(sampler.face_label.sum())} samples); box weight {args.box_weight}; low-res share {args.low_res}; "
            f"occlusion share {args.occlusion}; rotation share {args.rotation}; "
            f"blur weight {args.blur_weight:g} ({int(np.sum(samples.blur == 2))} heavy-blur face/part crops); "
            f"dropout {args.dropout}; ohem {args.ohem}; width {args.width:g}; "
            f"threads OMP={os.environ.get('OMP_NUM_THREADS')} "
            f"OPENBLAS={os.environ.get('OPENBLAS_NUM_THREADS')}")


def training_cli(net, default_data, default_iters, default_batch, shares, argv=None, doc=None):
    """Train `net` ("pnet", "rnet", "onet") from the command line."""
    ap = training_arguments(net, default_data, default_iters, default_batch, doc)
    args = ap.parse_args(argv)
    check_arguments(ap, args)
    caffe = import_caffe(args.gpu)
    caffe.set_random_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    samples, hard, false, photo = load_samples(ap, args, net)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    if args.width <= 0:
        ap.error(f"--width {args.width}: must be > 0")
    train_pt, deploy_pt = write_prototxts(caffe, net, out, args.batch, (1.0, args.box_weight, args.pts_weight),
                                         args.dropout, args.width)
    sampler = BatchSampler(samples, args.batch, shares, rng, hard=hard, hard_neg_share=args.hard_neg_share,
                           pos_iou=args.pos_iou, low_res=args.low_res, occlusion=args.occlusion,
                           rotation=args.rotation, blur_weight=args.blur_weight,
                           false=false, false_neg_share=args.false_neg_share, photo=photo,
                           photo_neg_share=args.negatives_share, gray_share=args.gray_share)
    if args.until:
        args.minutes = minutes_until(args.until)
    two_phases = bool(args.minutes or args.phases)
    # iteration-based lr steps only without the two phases: with --minutes / --until /
    # --phases the phases set the lr, and steps at 0.6/0.85 x --iters would fire inside phase 1
    steps = [10 ** 9] if two_phases else (args.lr_steps or [int(args.iters * 0.6), int(args.iters * 0.85)])
    solver_pt = write_solver(caffe, out / f"{net}_solver.prototxt", train_pt, args.lr,
                             10 ** 9 if two_phases else args.iters, steps, out / net)
    state = {"solver": caffe.get_solver(str(solver_pt))}
    if args.resume:
        state["solver"].net.copy_from(str(args.resume))
    log = line_logger(out / "train.log")
    length = (f"phases {args.phases[0]} + {args.phases[1]} iterations" if args.phases else
              f"{args.minutes:g} minutes in two phases" if args.minutes else f"iters {args.iters}")
    log(describe_run(net, args, samples, hard, sampler, length, steps))
    save = weight_saver(state, out, net, args.keep_snapshots)
    ohem = dict(ohem=args.ohem, score_blob=HEADS[net][0])
    if two_phases:
        hist = run_two_phases(caffe, state, sampler, args, out, net, train_pt, log, save, ohem)
    else:
        hist = train(state["solver"], sampler, args.iters, log=log, save=save, save_every=args.save_every, **ohem)
    np.savetxt(out / "loss_history.txt", np.array(hist), header="iter cls box pts", fmt="%.6g")
    plot_losses(np.array(hist), out / "loss.png", net)
    if args.ship:
        args.ship.mkdir(parents=True, exist_ok=True)
        name = DET_NAMES[net]
        shutil.copyfile(deploy_pt, args.ship / f"{name}.prototxt")
        shutil.copyfile(out / f"{net}.caffemodel", args.ship / f"{name}.caffemodel")
        log(f"shipped {args.ship / name}.prototxt/.caffemodel")
