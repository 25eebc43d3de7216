"""Data: defensive image IO, training datasets and samplers, dataset preparation, the sample set."""
