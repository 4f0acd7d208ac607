-- One row per ended call, written once by the gateway that ran it.

CREATE TABLE call_records (
    call_id text PRIMARY KEY,
    -- No foreign key: a record must be kept even for a tenant that is not (or
    -- no longer) in `tenants`, e.g. one routed from the configuration file.
    tenant_id text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    from_number text,
    to_number text,
    started_at timestamptz NOT NULL,
    answered_at timestamptz,
    ended_at timestamptz NOT NULL,
    outcome text NOT NULL,
    reason text,
    -- [{caller, agent, interrupted, latency: {stt_ms, agent_ms, ...}}]; caller
    -- and agent are absent when the tenant does not store transcripts.
    turns jsonb NOT NULL DEFAULT '[]'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- A tenant's calls, newest first.
CREATE INDEX call_records_tenant_started_idx ON call_records (tenant_id, started_at DESC);
-- Retention jobs delete by age across tenants.
CREATE INDEX call_records_started_idx ON call_records (started_at);
