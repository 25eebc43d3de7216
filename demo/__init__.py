"""The web demo behind app.py: its state and run, page, API, request limits and serving.

state.py (`Demo`: models, cached engines, one request's run on infer.py's code path), types.py (a
request, a result, a step), inputs.py (a request checked), limits.py (`Limits`, the stop flag),
serving.py (a request off the event loop), page.py and api.py (the gradio page and `/stylize`),
web.py (the gradio glue), picker.py (the model picker's checkpoints). It imports inference/, never
the reverse.
"""
