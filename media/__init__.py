"""Pictures on disk: the one image reader/writer, atomic writes and safe names, the one resize, grids, input discovery."""
