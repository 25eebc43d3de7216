"""Inference internals behind infer.py: job planning (inputs, names, masks) and the run loop."""
