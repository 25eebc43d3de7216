"""Memory layout of a built network, chosen by the run: channels_last.py (NHWC kept end to end)."""
