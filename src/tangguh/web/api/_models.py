"""Pydantic models of the JSON API (request bodies and documented responses)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """A response that may carry more members than documented."""

    model_config = ConfigDict(extra="allow")


class UnitOut(_Open):
    unit_id: str
    level: str
    name: str | None = None
    parent_id: str | None = None
    code_bps: str | None = None
    code_kemendagri: str | None = None
    population: float | None = None
    households: float | None = None
    bbox: list[float] | None = None


class UnitDetail(UnitOut):
    geometry: dict[str, Any] | None = None
    children: list[str] = []


class UnitRef(_Open):
    unit_id: str
    name: str | None = None


class LookupOut(_Open):
    lon: float
    lat: float
    units: dict[str, UnitRef | None]


class HazardAt(_Open):
    layer: str
    title_id: str | None = None
    title_en: str | None = None
    attribute: str | None = None
    value: Any = None
    depth_cm: float | None = None


class Facility(_Open):
    layer: str
    feature_id: str | None = None
    name: str | None = None
    lon: float
    lat: float
    distance_m: float


class AlertOut(_Open):
    alert_id: str
    version: int
    status: str
    msg_type: str
    hazard: str
    level: int
    unit_ids: list[str]
    headline_id: str
    headline_en: str


class RiskAtOut(_Open):
    lon: float
    lat: float
    units: dict[str, UnitRef | None]
    hazards: list[HazardAt]
    alerts: list[AlertOut]
    rw_state: dict[str, Any] | None = None
    nearest_shelter: Facility | None = None
    nearest_hospital: Facility | None = None


class StationOut(_Open):
    station_id: str
    name: str | None = None
    kind: str | None = None
    lon: float | None = None
    lat: float | None = None
    river: str | None = None


class Observation(_Open):
    t: str
    parameter: str
    value: float | None = None
    unit: str | None = None
    quality: str | None = None


class ObservationsOut(_Open):
    station_id: str
    count: int
    truncated: bool
    observations: list[Observation]


class StationStateOut(_Open):
    station_id: str
    parameter: str
    level: int
    label_id: str
    label_en: str
    since: str | None = None
    last_t: str | None = None


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason_en: str = Field(min_length=1, max_length=500)
    reason_id: str = Field(min_length=1, max_length=500)


class SubscribeIn(BaseModel):
    """Exactly one of lon+lat, rw or kelurahan; channels maps a channel to a contact."""

    model_config = ConfigDict(extra="forbid")
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    rw: str | None = Field(default=None, max_length=190)
    kelurahan: str | None = Field(default=None, max_length=190)
    language: Literal["id", "en"] = "id"
    channels: dict[str, str] = Field(min_length=1, max_length=6)
    quiet_hours: str | None = Field(default=None, max_length=11, examples=["22:00-05:00"])


class SubscriptionOut(_Open):
    subscriber_id: str
    status: str
    language: str
    rw_id: str | None = None
    kelurahan_id: str | None = None
    quiet_hours: str | None = None
    channels: list[str]


class SubscribedOut(SubscriptionOut):
    token: str
    confirm_url: str
    unsubscribe_url: str


class AnalysisOut(_Open):
    id: str
    kind: str
    question: str | None = None
    level: str | None = None
    created: str


class IncidentOut(_Open):
    incident_id: str
    hazard: str
    level: int
    status: str


class TaskOut(_Open):
    task_id: str
    incident_id: str
    status: str


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: str = Field(min_length=1, max_length=128)


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=1000)


class RwStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: int = Field(ge=0, le=4, description="0 none, 1 use caution, 2 low, 3 medium, 4 high")
    note: str | None = Field(default=None, max_length=500)


class RwStateOut(_Open):
    unit_id: str
    state: int
    label_id: str
    label_en: str
    t: str
    note: str | None = None


class RwLogRow(_Open):
    seq: int
    unit_id: str
    state: int
    previous: int | None = None
    t: str
    note: str | None = None


class FeatureCollection(_Open):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    role: str


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=10, max_length=256)


class UserIn(RegisterIn):
    role: Literal["citizen", "operator", "admin"] = "citizen"


class UserOut(_Open):
    user_id: str
    username: str
    role: str
    created: str
    disabled: bool


class MeOut(_Open):
    kind: str
    role: str
    name: str | None = None


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1, max_length=190)
    role: Literal["citizen", "operator", "admin"] = "operator"


class KeyOut(_Open):
    key_id: str
    label: str
    role: str
    created: str
    revoked: str | None = None


class KeyCreated(KeyOut):
    key: str


class AuditOut(_Open):
    seq: int
    t: str
    actor: str
    role: str
    ip_hash: str | None = None
    method: str
    path: str
    object_id: str | None = None
    status: int
    outcome: str
