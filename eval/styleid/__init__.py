"""StyleID's evaluation protocol (CVPR 2024): ArtFID, FID, LPIPS, CFSD and the papers' losses.

    python -m eval.styleid metrics --stylized DIR --content DIR --style DIR --out DIR
    python -m eval.styleid styleid --content DIR --style DIR --out DIR [--checkpoint X ...]

Definitions and their source lines: eval/styleid/protocol.md.

Modules:
    command: the command's flags and main() (`python -m eval.styleid`).
    triples: StyleID's file names; each output matched to its content and style.
    method_runs: stylize every content x style per method under StyleID's names, resumably.
    metrics: every metric of one folder of outputs, with the networks StyleID loads.
    art_inception: the ArtFID authors' Inception-v3 trained on art (FID's features).
    fid: FID as StyleID computes it, and FID-infinity.
    cfsd: the content feature structure distance.
    paper_losses: StyTr2's and MicroAST's content and style losses and StyleID's Gram loss, as
        the papers report them (not the training losses of models/losses.py).
    sample_table.sh: the table in docs/evaluation.md, from the sample set.
"""
