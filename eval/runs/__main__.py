"""`python -m eval.runs`: compare training runs (eval/runs/compare.py)."""

from eval.runs.compare import main

if __name__ == "__main__":
    main()
