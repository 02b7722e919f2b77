"""The InferenceGraph router (`kserve-router`): runs a graph of InferenceServices per request.

Stands apart from the model server: its image has no ML frameworks.
"""
