class PycoreError(Exception):
    """Base for every error pycore raises on purpose; its message is meant for a person."""


class GraphError(PycoreError):
    """A model.json that is malformed or refers to something that does not exist."""


class ModelNotFound(PycoreError, FileNotFoundError):
    """A path that is not a converted model: missing, a folder without model.json, an .onnx file."""


class InputError(PycoreError):
    """Inputs that do not fit the model: a missing or unknown name, or something that is not an array."""


class ShapeError(InputError):
    """An input whose shape differs from what the model was built for."""
