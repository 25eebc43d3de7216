"""Pictures on disk: the one image reader/writer, atomic writes, safe names, resize, grids, \
discovery."""
