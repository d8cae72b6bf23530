-- The dashboard's live events are pushed, not polled: every change the
-- event feed can see (a new row, or a row whose updated_at moved, in calls,
-- messages and payments) notifies channel 'al_events' with a tiny payload,
-- '<business id>:<kind>'. A trigger, so that every write path, including
-- ones added later, notifies; NOTIFY is delivered only when (and if) the
-- transaction commits, so a listener never reads ahead of the data. Each
-- instance holds one LISTEN connection (actors/event_listener.cpp) and wakes
-- the feeds of that business, which then read their rows as before.
-- PostgreSQL folds equal notifications of one transaction into one, so a
-- bulk change costs one wake-up per business and kind.
--
-- An update that leaves updated_at alone is invisible to the feed (it reads
-- by updated_at), so it does not notify either. A token revoked or deleted
-- notifies its business ('<id>:token'): its open streams re-check it and end.

CREATE FUNCTION al_notify_event() RETURNS trigger
  LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('al_events', OLD.business_id::text || ':' || TG_ARGV[0]);
  ELSE
    PERFORM pg_notify('al_events', NEW.business_id::text || ':' || TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER calls_notify_insert AFTER INSERT ON calls
  FOR EACH ROW EXECUTE FUNCTION al_notify_event('call');
CREATE TRIGGER calls_notify_update AFTER UPDATE ON calls
  FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at)
  EXECUTE FUNCTION al_notify_event('call');

CREATE TRIGGER messages_notify_insert AFTER INSERT ON messages
  FOR EACH ROW EXECUTE FUNCTION al_notify_event('message');
CREATE TRIGGER messages_notify_update AFTER UPDATE ON messages
  FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at)
  EXECUTE FUNCTION al_notify_event('message');

CREATE TRIGGER payments_notify_insert AFTER INSERT ON payments
  FOR EACH ROW EXECUTE FUNCTION al_notify_event('payment');
CREATE TRIGGER payments_notify_update AFTER UPDATE ON payments
  FOR EACH ROW WHEN (NEW.updated_at IS DISTINCT FROM OLD.updated_at)
  EXECUTE FUNCTION al_notify_event('payment');

CREATE TRIGGER api_tokens_notify_revoke AFTER UPDATE ON api_tokens
  FOR EACH ROW WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at)
  EXECUTE FUNCTION al_notify_event('token');
CREATE TRIGGER api_tokens_notify_delete AFTER DELETE ON api_tokens
  FOR EACH ROW EXECUTE FUNCTION al_notify_event('token');
