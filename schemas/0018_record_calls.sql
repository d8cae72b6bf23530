-- record_calls (SPEC §7 "After every call"): with it on (the default), the
-- whole two-sided call is recorded (Ogg/Opus, kept in call_audio as kind
-- 'call') and the caller hears a short notice right after the greeting.
-- Set by admin POST/PATCH /api/admin/businesses and owner PATCH
-- /api/crm/settings.

ALTER TABLE businesses ADD COLUMN record_calls BOOLEAN NOT NULL DEFAULT TRUE;
