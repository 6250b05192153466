"""Dataset profiling: CSV and Parquet files streamed into the profile format of
`lifecycle.dataprep.profiles`, and whylogs profiles mapped onto it."""

from ingestion.profiling.errors import ProfileError
from ingestion.profiling.profiler import ProfileMetadata, file_profile
from ingestion.profiling.readers import Limits
from ingestion.profiling.whylogs_map import whylogs_profile

__all__ = ["Limits", "ProfileError", "ProfileMetadata", "file_profile", "whylogs_profile"]
