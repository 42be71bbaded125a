"""Input and output shared by every room: the one safe YAML reader and the atomic writers.

* ``read_yaml_file`` / ``read_yaml_text`` (``yamlsafe``) - hardware profiles and experiment
  configs, with size, depth, node and alias limits (``YamlLimits``).
* ``write_file_atomic``, ``temp_folder``, ``publish_folder``, ``clean_stale`` (``atomic``) -
  profiles, report folders and trace-cache entries.

Torch-free and pandas-free: imports PyYAML and the standard library only.
"""

from roofsweep.io.atomic import (
    MARKER,
    OLD_PREFIX,
    TMP_PREFIX,
    clean_stale,
    is_marked,
    publish_folder,
    temp_folder,
    write_file_atomic,
)
from roofsweep.io.yamlsafe import YamlInputError, YamlLimits, read_text_file, read_yaml_file, read_yaml_text

__all__ = [
    "MARKER",
    "OLD_PREFIX",
    "TMP_PREFIX",
    "YamlInputError",
    "YamlLimits",
    "clean_stale",
    "is_marked",
    "publish_folder",
    "read_text_file",
    "read_yaml_file",
    "read_yaml_text",
    "temp_folder",
    "write_file_atomic",
]
