-- Listings (SPEC §7): the properties an office offers, searched by the AI on
-- calls and WhatsApp, matched to leads, imported and exported as CSV.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE listings (
  id              BIGSERIAL PRIMARY KEY,
  business_id     BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  title           TEXT NOT NULL,
  deal            TEXT NOT NULL CHECK (deal IN ('buy', 'rent')),
  property_type   TEXT,
  city            TEXT,
  neighborhood    TEXT,
  street          TEXT,
  rooms           NUMERIC(4, 1),
  floor           INTEGER,
  size_sqm        INTEGER,
  price           BIGINT,                   -- whole shekels; rent: per month
  status          TEXT NOT NULL DEFAULT 'available'
                  CHECK (status IN ('available', 'reserved', 'sold', 'rented')),
  description     TEXT NOT NULL DEFAULT '',
  features        TEXT[] NOT NULL DEFAULT '{}',
  photos          TEXT[] NOT NULL DEFAULT '{}',
  external_ref    TEXT,                     -- the portal's ad id
  tracking_number TEXT,                     -- E.164: calls to it are about this listing
  created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
  -- A deleted listing stays for the calls and messages that mentioned it.
  deleted_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX listings_business_ref ON listings(business_id, external_ref)
  WHERE external_ref IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX listings_tracking_number ON listings(tracking_number)
  WHERE tracking_number IS NOT NULL AND deleted_at IS NULL;
-- The filters: deal, city, rooms, price, status of live listings.
CREATE INDEX listings_search ON listings(business_id, deal, status, price)
  WHERE deleted_at IS NULL;
CREATE INDEX listings_city ON listings(business_id, lower(city))
  WHERE deleted_at IS NULL;
-- The AI's search_listings: a city, a deal and a rooms range of what is
-- available.
CREATE INDEX listings_available ON listings(business_id, lower(city), deal, rooms)
  WHERE deleted_at IS NULL AND status = 'available';
-- Pages of the newest changes.
CREATE INDEX listings_recent ON listings(business_id, updated_at DESC, id DESC)
  WHERE deleted_at IS NULL;
-- Free text (Hebrew or not): trigram similarity over title, place, text.
CREATE INDEX listings_text ON listings USING gin (
  (coalesce(title, '') || ' ' || coalesce(city, '') || ' ' ||
   coalesce(neighborhood, '') || ' ' || coalesce(street, '') || ' ' ||
   coalesce(description, '') || ' ' || coalesce(external_ref, ''))
  gin_trgm_ops) WHERE deleted_at IS NULL;

-- Which listings a call or a WhatsApp message offered (the AI's
-- search_listings results), for the chips on the call and the lead.
CREATE TABLE listing_mentions (
  id          BIGSERIAL PRIMARY KEY,
  business_id BIGINT NOT NULL REFERENCES businesses(id) ON DELETE CASCADE,
  listing_id  BIGINT NOT NULL REFERENCES listings(id) ON DELETE CASCADE,
  call_sid    TEXT,
  message_id  BIGINT,
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE (call_sid, listing_id)
);
CREATE INDEX listing_mentions_listing ON listing_mentions(listing_id);

-- Leads from a CSV import keep where they came from.
ALTER TABLE leads DROP CONSTRAINT IF EXISTS leads_source_check;
ALTER TABLE leads ADD CONSTRAINT leads_source_check
  CHECK (source IN ('call', 'whatsapp', 'manual', 'import', 'web', 'portal'));
