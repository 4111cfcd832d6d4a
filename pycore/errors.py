class PycoreError(Exception):
    """Base for every error pycore raises on purpose; its message is meant for a person."""


class GraphError(PycoreError):
    """A model.json that is malformed or refers to something that does not exist."""


class ShapeError(PycoreError):
    """An input whose shape differs from what the model was built for."""
