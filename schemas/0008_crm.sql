-- CRM REST support: an ISO-8601 UTC renderer for timestamps in JSON output,
-- and the indexes the /api/crm/* lists filter and sort by.
CREATE FUNCTION iso_utc(t TIMESTAMPTZ) RETURNS TEXT
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  AS $$ SELECT to_char(t AT TIME ZONE 'UTC',
                       'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') $$;

CREATE INDEX leads_business_updated ON leads(business_id, updated_at DESC);
CREATE INDEX lead_notes_lead ON lead_notes(lead_id, id);
CREATE INDEX tasks_business_due ON tasks(business_id, done, due_at);
CREATE INDEX tasks_lead ON tasks(lead_id);
CREATE INDEX appointments_lead ON appointments(lead_id);
CREATE INDEX calls_lead ON calls(lead_id);
CREATE INDEX call_segments_call ON call_segments(business_id, call_sid, seq);

-- Lead search (?q=: ILIKE '%...%' over name, phone and notes) through
-- trigram indexes when pg_trgm is installable (a trusted extension in the
-- PostgreSQL 15 contrib package). Without it searches still work, by a
-- sequential scan of the business's leads.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN OTHERS THEN
      RAISE NOTICE 'pg_trgm not created (%): lead search uses scans', SQLERRM;
    END;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
    CREATE INDEX leads_name_trgm ON leads USING gin (name gin_trgm_ops);
    CREATE INDEX leads_phone_trgm ON leads USING gin (phone gin_trgm_ops);
    CREATE INDEX leads_notes_trgm ON leads USING gin (notes gin_trgm_ops);
  END IF;
END
$$;
