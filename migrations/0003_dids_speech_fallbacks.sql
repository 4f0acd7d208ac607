-- A route's speech providers that take over, in order, when its `stt` / `tts`
-- provider fails (with no `stt` / `tts`: after the instance default's
-- primary). Names as in the configuration file: wyoming, fake, deepgram,
-- elevenlabs, openai. An empty array keeps the default's own fallbacks when
-- `stt` / `tts` is empty too, and means "no fallback" otherwise.

ALTER TABLE dids
    ADD COLUMN stt_fallback text[] NOT NULL DEFAULT '{}'
        CHECK (array_position(stt_fallback, NULL) IS NULL),
    ADD COLUMN tts_fallback text[] NOT NULL DEFAULT '{}'
        CHECK (array_position(tts_fallback, NULL) IS NULL);
