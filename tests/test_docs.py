"""The documents a user reads: the README's length and first commands, every relative link of
every tracked Markdown file (files and #anchors), what mtcnn/'s top level holds, and no lab
notebook (dates, training rounds) in the library's docstrings and comments."""
import re
import subprocess

import pytest

from facecascade.paths import REPO_ROOT

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def tracked(pattern):
    try:
        out = subprocess.run(["git", "ls-files", pattern], cwd=REPO_ROOT, capture_output=True, text=True)
    except FileNotFoundError:       # no git at all (the Docker images)
        out = None
    if out is None or out.returncode != 0:         # an export without .git
        return sorted(p for p in REPO_ROOT.rglob(pattern.lstrip("*/")) if ".venv" not in p.parts)
    return [REPO_ROOT / f for f in out.stdout.split()]


def outside_fences(text):
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def prose(text):
    """The text outside fenced code blocks and inline code spans (links there are not links)."""
    return re.sub(r"`[^`\n]*`", "", outside_fences(text))


def anchors(path):
    """GitHub's heading anchors of a Markdown file: lower case, punctuation dropped, spaces to
    hyphens, a repeated anchor numbered -1, -2, ..."""
    seen, out = {}, set()
    for line in outside_fences(path.read_text()).splitlines():
        m = re.match(r"#{1,6} +(.*?) *#* *$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).replace("`", "").lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_readme_is_short_and_starts_with_the_two_commands():
    lines = (REPO_ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines"
    first_heading = next(i for i, line in enumerate(lines) if line.startswith("## "))
    head = "\n".join(lines[:first_heading])
    block = head.split("```bash", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2 and all(c.startswith("bash docker/build_caffe.sh && ") for c in block), block
    assert "3_demo/Code/inference.py" in block[0] and "pytest" in block[1]


def test_user_docs_exist_and_the_mtcnn_readme_is_short():
    for name in ("USAGE", "TRAINING", "METHOD", "RESULTS", "BUILD", "METRICS", "ANCHORS"):
        assert (REPO_ROOT / "docs" / f"{name}.md").is_file(), name
    assert (REPO_ROOT / "docs/notebook/README.md").is_file()
    assert len((REPO_ROOT / "mtcnn/README.md").read_text().splitlines()) <= 150
    assert not (REPO_ROOT / "bench/RESULTS.md").exists()


def test_every_relative_link_resolves():
    broken = []
    for md in tracked("*.md"):
        for target in LINK.findall(prose(md.read_text())):
            if re.match(r"[a-z]+:", target):        # http:, https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (md.parent / path).resolve() if path else md
            where = f"{md.relative_to(REPO_ROOT)}: {target}"
            if not dest.exists():
                broken.append(where)
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(where + " (no such heading)")
    assert broken == []


def test_the_anchor_rule_on_headings_with_punctuation(tmp_path):
    """The link check above is only as good as its anchors: GitHub's rule on hand-made headings."""
    md = tmp_path / "a.md"
    md.write_text("# Round 17 (shipped): blurred, 2026-12-05 06:13 UTC\n## `--min-score` S\n## Use\n## Use\n"
                  "```\n# not a heading\n```\n")
    assert anchors(md) == {"round-17-shipped-blurred-2026-12-05-0613-utc", "--min-score-s", "use", "use-1"}


def test_mtcnn_top_level_holds_only_the_product():
    allowed = {"README.md", "detect.py", "evaluate.py", "train_shipped.sh", "model", "recipes"}
    extra = [p.name for p in (REPO_ROOT / "mtcnn").iterdir()
             if p.name not in allowed and not re.match(r"\d_[a-z_]+$", p.name) and p.name not in ("Data", "Result")
             and p.name != "__pycache__"]
    assert extra == []


@pytest.mark.parametrize("pattern, what", [(r"20\d\d-\d\d-\d\d", "a date"), (r"(?i)\bround \d", "a training round")])
def test_no_lab_notebook_in_the_library(pattern, what):
    """Library docstrings and comments describe what the code does; when and in which round a
    change was measured belongs to docs/notebook/ (they point to docs/METHOD.md instead)."""
    hits = [f"{p.relative_to(REPO_ROOT)}:{i}: {line.strip()}"
            for p in sorted((REPO_ROOT / "lib/facecascade").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(pattern, line)]
    assert hits == [], f"{what} in the library:\n" + "\n".join(hits)


def test_the_readme_python_example_runs_on_a_demo_photo(caffe):
    """The README's Python example, as printed, on a shipped demo photo: it finds the face and
    gives five refined points per face inside the image."""
    text = (REPO_ROOT / "README.md").read_text()
    code = text.split("```python", 1)[1].split("```", 1)[0]
    photo = sorted((REPO_ROOT / "3_demo/Data/celeba").glob("*.jpg"))[0]
    assert '"photo.jpg"' in code
    scope = {}
    exec(compile(code.replace('"photo.jpg"', repr(str(photo))), "README.md", "exec"), scope)
    h, w = scope["image"].shape[:2]
    assert len(scope["faces"]) >= 1 and len(scope["points"]) == len(scope["faces"])
    for p in scope["points"]:
        assert p.shape == (5, 2) and (p >= 0).all() and (p[:, 0] < w).all() and (p[:, 1] < h).all()


def test_the_settings_table_lists_every_detector_flag():
    """docs/USAGE.md's table of the detector's settings names exactly the flags of the detector's
    argument group (the one every detector command builds its DetectorConfig from)."""
    import argparse

    from facecascade.mtcnn import add_detector_arguments

    ap = add_detector_arguments(argparse.ArgumentParser())
    flags = {s for a in ap._actions for s in a.option_strings if s.startswith("--") and s != "--help"}
    section = (REPO_ROOT / "docs/USAGE.md").read_text().split("## The detector's settings", 1)[1]
    table = {m for line in section.splitlines() if line.startswith("| `--")
             for m in re.findall(r"`(--[a-z-]+)", line.split("|")[1])}
    assert flags - {"--preset"} == table
