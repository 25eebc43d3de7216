"""A fixed command set whose outputs must not change when code is only moved or restructured.

    python -m bench.behaviour --out before.json    # in a checkout of the old commit
    python -m bench.behaviour --out after.json     # in today's
    python -m bench.behaviour --compare before.json after.json

Each command runs as a user types it (a fresh process, the checkout's own python), in a scratch
folder: the sample set and a clip, infer.py in its modes with the shipped release (plain + grid,
alpha list, style mix, region mask, wct, luminance-only colour, tiling, a clip with the stats
remedy, the optimization on HED's VGG16), a 3-step smoke train.py, eval.evaluate on its release,
eval.runs on its run. Recorded per command: its exit code, and a sha256 per output file of what
the file holds, not its bytes: decoded pixels for images, tensors for safetensors (metadata left
out: it holds paths and times). Not compared (recorded as such): text outputs (csv, json, md, the
TensorBoard events, named by time) since they carry timings and paths, and encoded clips, whose
H.264 bytes and even decoded pixels differ between two runs of the same code; a clip's stylized
frames are compared as the PNGs --frames writes. `--compare` lists every command whose exit code or
any compared file differs, and exits 1 if one does.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from configs.cli import ArgumentParser
from media.progress import tqdm

REPO = Path(__file__).resolve().parent.parent
INFER = "infer.py --checkpoint hed-adain --size 96 --seed 0"
PAIR = "--content {content} --style {style}"
# name -> the command after `python`, split like a shell line once {tmp}, {data} (the sample set),
# {clip}, {content} (two photos), {style} (two styles) and {mask} are filled in
COMMANDS: dict[str, str] = {
    "sample": "-m data_prep.sample --out {data} --size 128",
    "clip": "-m data_prep.sample_clip {clip} --frames 6 --size 64 48",
    "infer_plain_grid": f"{INFER} {PAIR} --grid --out {{tmp}}/plain",
    "infer_alpha": f"{INFER} {PAIR} --alpha 0,0.5,1 --out {{tmp}}/alpha",
    "infer_mix": f"{INFER} {PAIR} --style-weights 0.3,0.7 --out {{tmp}}/mix",
    "infer_mask": f"{INFER} --content {{content1}} --style {{style}} --mask {{mask}} "
    "--out {tmp}/mask",
    "infer_wct": f"{INFER} {PAIR} --transform wct --out {{tmp}}/wct",
    "infer_color": f"{INFER} {PAIR} --preserve-color luminance --out {{tmp}}/color",
    "infer_tile": f"{INFER} {PAIR} --tile-size 64 --out {{tmp}}/tile",
    "infer_video": f"{INFER} --content {{clip}} --style {{style1}} --temporal stats --frames "
    "--out {tmp}/video",
    "infer_optimize": "infer.py --method optimize --feature-net vgg16 --weights hed --steps 3 "
    "--size 64 --seed 0 --content {content1} --style {style1} --out {tmp}/optimize",
    "train_smoke": "train.py --config configs/smoke.yaml --run-dir {tmp}/runs/smoke "
    "data.root={data} train.steps=3 train.save_every=3 train.eval_every=3",
    "evaluate": "-m eval.evaluate --checkpoint {tmp}/runs/smoke/model.safetensors --pairs {pairs} "
    "--weights hed --feature-net random --size 64 --offline --out {tmp}/evaluate",
    # the loss curves only: the throughput plots are timings
    "runs": "-m eval.runs {tmp}/runs --out {tmp}/compare --tags loss/total,loss/content,loss/style",
}
IMAGES = {".png", ".jpg", ".jpeg"}
TEXT = {".csv", ".json", ".md", ".txt", ".yaml", ".log"}


def content_hash(path: Path) -> str:
    """sha256 of what a file holds (pixels, tensors, frames), or "text"/"other:<sha of bytes>"."""
    h = hashlib.sha256()
    suffix = path.suffix.lower()
    if suffix in IMAGES:
        with Image.open(path) as im:
            h.update(f"{im.mode}{im.size}".encode())
            h.update(np.asarray(im).tobytes())
    elif suffix == ".safetensors":
        from safetensors.numpy import load_file

        for key, value in sorted(load_file(str(path)).items()):
            h.update(key.encode() + str(value.dtype).encode() + str(value.shape).encode())
            h.update(value.tobytes())
    elif suffix in TEXT or suffix == ".mp4" or path.name.startswith("events.out"):
        return "not compared"
    else:
        return "other:" + hashlib.sha256(path.read_bytes()).hexdigest()
    return h.hexdigest()


def inputs(tmp: Path) -> dict[str, str]:
    """The placeholders of COMMANDS; writes the mask (two regions, the contents' 3:2 shape at
    --size 96) and the pairs manifest for eval.evaluate."""
    data = tmp / "sample"
    contents = [data / "content/val/coffee.jpg", data / "content/val/camera.jpg"]
    styles = [data / "style/val/plasma.jpg", data / "style/val/colorwheel.jpg"]
    mask = Image.new("RGB", (144, 96))
    mask.paste((255, 0, 0), (72, 0, 144, 96))
    mask.save(tmp / "mask.png")
    pairs = [{"content": str(c), "style": str(s)} for c in contents for s in styles]
    (tmp / "pairs.json").write_text(json.dumps({"pairs": pairs}))
    return {
        "tmp": str(tmp),
        "data": str(data),
        "clip": str(tmp / "clip.mp4"),
        "content": " ".join(map(str, contents)),
        "style": " ".join(map(str, styles)),
        "content1": str(contents[0]),
        "style1": str(styles[0]),
        "mask": str(tmp / "mask.png"),
        "pairs": str(tmp / "pairs.json"),
    }


def run_all(tmp: Path) -> dict:
    """Every command's exit code and its new files' content hashes, in order."""
    fill = inputs(tmp)
    record, seen = {}, {tmp / "mask.png", tmp / "pairs.json"}
    for name, line in tqdm(COMMANDS.items(), desc="behaviour", unit="command"):
        args = shlex.split(line.format(**fill))
        proc = subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True)
        files = sorted(p for p in tmp.rglob("*") if p.is_file() and p not in seen)
        seen.update(files)
        record[name] = {
            "argv": [a.replace(str(tmp), "{tmp}") for a in args],
            "exit_code": proc.returncode,
            "files": {str(p.relative_to(tmp)): content_hash(p) for p in files},
        }
        if proc.returncode:
            record[name]["stderr_tail"] = proc.stderr.strip().splitlines()[-3:]
    return record


def compare(before: dict, after: dict) -> list[str]:
    """One line per command whose exit code or a file's content differs between two records."""
    lines = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if a is None or b is None:
            lines.append(f"{name}: only in {'after' if a is None else 'before'}")
            continue
        if a["exit_code"] != b["exit_code"]:
            lines.append(f"{name}: exit code {a['exit_code']} -> {b['exit_code']}")
        for f in sorted(set(a["files"]) | set(b["files"])):
            hashes = {a["files"].get(f), b["files"].get(f)}
            if len(hashes) > 1 and not hashes & {"not compared"}:
                lines.append(f"{name}: {f} differs ({a['files'].get(f)} -> {b['files'].get(f)})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("--out", help="write the record of this checkout as JSON")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="two records")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(Path(p).read_text()) for p in args.compare)
        lines = compare(before, after)
        n = sum(h != "not compared" for r in after.values() for h in r["files"].values())
        print("\n".join(lines) or f"identical: {len(after)} commands, {n} compared files")
        return 1 if lines else 0
    if not args.out:
        parser.error("give --out FILE (record this checkout) or --compare BEFORE AFTER")
    with tempfile.TemporaryDirectory(prefix="behaviour-") as tmp:
        record = run_all(Path(tmp))
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    failed = [k for k, r in record.items() if r["exit_code"]]
    print(f"{len(record)} commands recorded in {args.out}; exit code != 0: {failed or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
