"""Hardware profiles: the device side of the roofline (torch-free).

* ``HardwareProfile`` - frozen record: peak MAC/s per dtype, DRAM bandwidth, derived ridge point.
* ``load_profile(path)`` / ``validate_file(path)`` - one YAML file (see docs/hardware-profiles.md).
* ``get_profile(name_or_path)`` / ``list_profiles()`` / ``discover()`` - built-in and user folders,
  precedence as listed by ``profile_dirs()``.
* ``profile_to_yaml(profile)`` / ``write_profile(profile, path)`` - the inverse of loading.
"""

from roofsweep.hardware.discovery import (
    ENV_VAR,
    BrokenFile,
    Discovery,
    ProfileDir,
    ProfileEntry,
    builtin_profile_dir,
    discover,
    get_profile,
    list_profiles,
    profile_dirs,
    skipped_profile_notes,
    user_profile_dir,
)
from roofsweep.hardware.loader import (
    FIELDS,
    load_profile,
    profile_from_yaml,
    profile_to_dict,
    profile_to_yaml,
    validate_file,
    write_profile,
)
from roofsweep.hardware.profile import KINDS, HardwareProfile

__all__ = [
    "ENV_VAR",
    "FIELDS",
    "KINDS",
    "BrokenFile",
    "Discovery",
    "HardwareProfile",
    "ProfileDir",
    "ProfileEntry",
    "builtin_profile_dir",
    "discover",
    "get_profile",
    "list_profiles",
    "load_profile",
    "profile_dirs",
    "profile_from_yaml",
    "profile_to_dict",
    "profile_to_yaml",
    "skipped_profile_notes",
    "user_profile_dir",
    "validate_file",
    "write_profile",
]
