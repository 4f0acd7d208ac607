-- A route's externalMedia transport and audio format. NULL keeps the
-- instance's `[media] transport` / `format`. A row naming a pair the
-- gateway cannot carry (slin16 over rtp; ulaw/alaw over audiosocket) is
-- skipped and logged when the table is loaded, like any other bad row.

ALTER TABLE dids
    ADD COLUMN transport text
        CHECK (transport IN ('rtp', 'audiosocket', 'websocket')),
    ADD COLUMN format text
        CHECK (format IN ('ulaw', 'alaw', 'slin', 'slin16'));
