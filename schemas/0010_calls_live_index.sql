-- incoming_call counts a business's live calls (status 'in-progress',
-- updated in the last 2 hours) on every webhook; without this index that
-- count is a sequential scan of all calls (1.1 ms at 8.6k rows in bench/,
-- growing with the table). Partial: only live calls are indexed.
CREATE INDEX calls_business_live ON calls(business_id, updated_at)
  WHERE status = 'in-progress';
