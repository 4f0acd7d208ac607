-- Tenants and DID routing, read by the gateway's tenant directory.

CREATE TABLE tenants (
    id text PRIMARY KEY,
    name text NOT NULL DEFAULT '',
    -- Off: call records keep timings and outcome but no transcript text.
    store_transcripts boolean NOT NULL DEFAULT true,
    limits jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- did_pattern: an exact DID (`+15551234567`, `100`), a prefix (`+1555*`) or
-- the catch-all `*`; the gateway matches exact, then longest prefix, then `*`.
CREATE TABLE dids (
    did_pattern text PRIMARY KEY,
    tenant_id text NOT NULL REFERENCES tenants (id),
    agent_id text NOT NULL,
    greeting text,
    language text NOT NULL DEFAULT 'en-US',
    stt text,
    tts text,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX dids_tenant_idx ON dids (tenant_id);

-- Gateways keep the whole table in memory and reload it on this signal, so a
-- new DID routes the next call without a restart. The payload is only a hint.
CREATE FUNCTION dids_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('did_changed', OLD.did_pattern);
    ELSIF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('did_changed', '');
    ELSE
        PERFORM pg_notify('did_changed', NEW.did_pattern);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dids_changed
    AFTER INSERT OR UPDATE OR DELETE ON dids
    FOR EACH ROW EXECUTE FUNCTION dids_notify();

CREATE TRIGGER dids_truncated
    AFTER TRUNCATE ON dids
    FOR EACH STATEMENT EXECUTE FUNCTION dids_notify();
