"""The shapes of the results the hand-written helpers return (bulk reports, job status,
tracker counters, catalog sync reports), as TypedDicts you can annotate with."""

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

class ChangeCounts(TypedDict):
    create: int
    update: int
    delete: int
    unchanged: int


class PlanSummary(TypedDict):
    categories: ChangeCounts
    items: ChangeCounts
    variants: ChangeCounts


class FeedProblem(TypedDict):
    location: str
    record: int
    external_id: Optional[str]
    reason: str


class SyncFailure(TypedDict):
    kind: str
    action: str
    external_id: str
    reason: str


class SyncReport(TypedDict):
    """What `catalogs.sync` did (or, for a dry run, would do)."""

    dry_run: bool
    records: int
    skipped: List[FeedProblem]
    plan: PlanSummary
    created: int
    updated: int
    deleted: int
    unchanged: int
    failed: List[SyncFailure]
    jobs: int
    writes: int
    reads: int
    plan_file: Optional[str]


__all__ = ["BulkFailure", "JobRef", "BulkReport", "JobStatus", "TrackerStats", "TrackFailure", "SyncReport"]
