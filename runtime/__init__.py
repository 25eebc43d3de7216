"""The machine a run uses, decided once per run: device.py (device, precisions it does well, memory
format), channels_last.py (NHWC kept end to end in a built network), allocator.py (freed memory kept
in the process on CPU). Below configs/, beside models/: it imports torch and nothing of the repo."""
