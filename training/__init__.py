"""The training loop's pieces: data streams, lr schedule, resumable checkpoints, TensorBoard \
logging."""
