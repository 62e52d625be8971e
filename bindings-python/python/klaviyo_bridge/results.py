"""The shapes of the results the hand-written helpers return (bulk reports, job status,
tracker counters), as TypedDicts you can annotate with."""

from typing import Any, Dict, List, Optional, TypedDict

class BulkFailure(TypedDict):
    index: int
    key: Optional[str]
    reason: str


class JobRef(TypedDict):
    id: Optional[str]
    first_index: int
    item_count: int


class BulkReport(TypedDict):
    jobs: List[JobRef]
    accepted: int
    failures: List[BulkFailure]


class JobStatus(TypedDict):
    id: str
    status: str
    total: Optional[int]
    completed: Optional[int]
    failed: Optional[int]
    errors: List[Dict[str, Any]]
    raw: Dict[str, Any]


class TrackerStats(TypedDict):
    queued: int
    sent: int
    retried: int
    failed: int
    dropped: int
    pending: int
    last_error: Optional[str]


class TrackFailure(TypedDict):
    unique_id: str
    metric: str
    code: str
    reason: str

__all__ = ["BulkFailure", "JobRef", "BulkReport", "JobStatus", "TrackerStats", "TrackFailure"]
