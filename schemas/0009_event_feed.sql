-- The dashboard's live events (GET /api/crm/events) poll each business's
-- calls, messages and payments by updated_at: index that order.
CREATE INDEX calls_business_updated ON calls(business_id, updated_at);
CREATE INDEX messages_business_updated ON messages(business_id, updated_at);
CREATE INDEX payments_business_updated ON payments(business_id, updated_at);
