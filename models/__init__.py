"""Networks and pure tensor functions: encoders, AdaIN, decoders, losses, the composed model, checkpoints."""
