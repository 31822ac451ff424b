-- FieldCRM server schema: the organisation's service-case SLA (see cases.rs and
-- storage/sqlite_cases.rs): the hours a case of each severity may stay unresolved. A severity
-- without a row has the default (core `CaseSla::default`: critical 4, high 24, medium 72,
-- low 168). `updated_at`: unix ms of the admin's last change.
CREATE TABLE case_sla (
    severity   TEXT PRIMARY KEY,
    hours      INTEGER NOT NULL,
    updated_at BIGINT NOT NULL
);
