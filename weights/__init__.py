"""Weight files: release files and step checkpoints, pretrained/local/random sources, foreign \
formats and conversion."""
