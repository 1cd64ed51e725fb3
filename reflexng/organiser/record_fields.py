"""The fields of :class:`reflexng.organiser.model.FileRecord`, in order (a leaf module: the
stored form of records, :mod:`reflexng.organiser.storepack`, needs them without the model)."""

RECORD_FIELDS = ("path", "size", "mtime_ns", "status", "category", "data_source", "reason",
                 "headers", "mjd", "processed", "duplicate_of", "header_digest",
                 "data_sources", "excluded")
