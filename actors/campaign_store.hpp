#pragma once

// Follow-up call campaigns (schemas/0024_followup.sql, SPEC §7 "Follow-up
// calls"): the SQL behind /api/crm/campaigns, speed-to-lead enqueueing and
// the campaign engine's claims. Pure DB functions run inside a store job;
// every statement filters by business_id (or by a campaign id read under
// its business).
//
// Leads are materialised into campaign_leads when the campaign is created
// (the filter is applied once; numbers on the do-not-contact list get
// outcome 'opted_out' at once), so what an owner sees before pressing
// start is what will be dialed.
//
// The engine (actors/campaign.hpp) works on two leases:
//   campaigns.lease_owner/lease_until  the instance whose campaign actor
//       runs the campaign, renewed on every tick; free or expired leases of
//       running campaigns are taken by the periodic scan;
//   campaign_leads.lease_owner/lease_until  the instance that placed a
//       dial; a dial whose status callback never came within the lease is
//       'failed' (and due again while attempts remain).

#include "actors/crm_queries.hpp"
#include "actors/store.hpp"
#include "core/campaign_input.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace al {

// -- speed-to-lead (called by intake and by inbound WhatsApp) ---------------

/// Puts a new lead on the business's speed-to-lead campaign, creating that
/// campaign (kind 'speed_to_lead', running, 2 attempts 10 minutes apart,
/// voicemail hangup, the default prompt) on first use. Does nothing and
/// returns 0 when the business's auto_call_new_leads is off, or `phone` is
/// empty; a number on the do-not-contact list is entered as 'opted_out'
/// (never dialed). The row's lead_created_at is the lead's created_at (the
/// speed-to-lead histogram runs from there to the first dial). Idempotent
/// per (campaign, lead). Returns the campaign id. Wakes this process's
/// campaign managers (at once and again shortly, since the caller's
/// transaction commits after this returns); otherwise the campaign's actor
/// (it ticks every CAMPAIGN_TICK_MS; a new campaign is picked up by the next
/// scan) dials it at its next tick inside working hours.
std::int64_t enqueue_speed_to_lead(db_tx& tx, std::int64_t business,
                                   std::int64_t lead_id,
                                   const std::string& phone);

/// enqueue_speed_to_lead for a lead created in this very transaction (its
/// created_at is the transaction's now()): how inbound WhatsApp puts a new
/// sender on speed-to-lead without touching one it already knew. 0 when
/// the lead is older, or as enqueue_speed_to_lead.
std::int64_t enqueue_speed_to_lead_if_new(db_tx& tx, std::int64_t business,
                                          std::int64_t lead_id,
                                          const std::string& phone);

/// Wake-ups of this process's campaign managers (actors/campaign.hpp):
/// `wake_campaigns(id)` tells each registered manager that campaign `id`
/// has something to do now (a new speed-to-lead row, a finished dial: the
/// dial helper's on_dial_finished). A manager that does not run `id`
/// ignores it. Any thread; never blocks; wakers must not throw.
int add_campaign_waker(std::function<void(std::int64_t)> wake);
void remove_campaign_waker(int handle);
void wake_campaigns(std::int64_t campaign_id);

// -- the REST API ------------------------------------------------------------

/// 201 {"id":N}; materialises the matching leads (see above).
crm_reply create_campaign(db_tx& tx, std::int64_t business,
                          const campaign_input& in);

/// {"items":[{"id","name","kind","state","max_concurrent","attempts",
/// "retry_after_min","voicemail","created_at","started_at","completed_at",
/// "totals":{...}}],"page","per_page","total"}, newest first.
crm_reply list_campaigns(db_tx& tx, std::int64_t business,
                         const page_params& p);

/// The campaign with totals by outcome and one page of its leads.
crm_reply get_campaign(db_tx& tx, std::int64_t business, std::int64_t id,
                       const page_params& p);

/// start: draft|paused|running → running (409 when completed); pause:
/// running|draft|paused → paused (409 when completed, and for the
/// speed-to-lead campaign, which follows auto_call_new_leads). 404 for
/// another business's campaign. {"id","state"}.
crm_reply start_campaign(db_tx& tx, std::int64_t business, std::int64_t id);
crm_reply pause_campaign(db_tx& tx, std::int64_t business, std::int64_t id);

// -- the engine --------------------------------------------------------------

/// The settings a campaign actor dials by (read on every tick, so a pause
/// or an edit takes effect at once).
struct campaign_settings {
  std::int64_t id = 0;
  std::int64_t business_id = 0;
  std::string kind;  // campaign | speed_to_lead
  std::string state; // draft | running | paused | completed
  int max_concurrent = 3;
  int attempts = 2;
  int retry_after_min = 60;
  std::string working_hours; // the business's, JSON text
};

/// Running campaigns whose lease is free, expired or already `owner`'s,
/// leased to `owner` until now + lease (at most `limit`, oldest first).
std::vector<std::int64_t>
take_campaign_leases(db_tx& tx, const std::string& owner,
                     std::chrono::seconds lease, int limit);

/// Renews `owner`'s lease on campaign `id` and reads its settings; nullopt
/// when the campaign is gone or another instance holds it now.
std::optional<campaign_settings>
renew_campaign_lease(db_tx& tx, std::int64_t id, const std::string& owner,
                     std::chrono::seconds lease);

/// Lets go of `owner`'s lease on campaign `id` (paused, completed, or this
/// instance is stopping).
void release_campaign_lease(db_tx& tx, std::int64_t id,
                            const std::string& owner);

/// Rows of campaign `id` still 'dialing' after their lease (the dialing
/// instance died, or no callback came), or 'answered' an hour past it,
/// become 'failed' ("no status callback") and are due again after
/// retry_after_min while attempts remain. Returns how many.
int expire_dial_leases(db_tx& tx, const campaign_settings& c);

/// A row claimed for a dial.
struct claimed_lead {
  std::int64_t id = 0; // campaign_leads.id
  std::int64_t lead_id = 0;
  std::string phone;
  int attempt = 0; // attempts_made after the claim (1 for the first dial)
  std::optional<double> since_lead_s; // lead_created_at → now, first dial
};

/// What a claim saw and took.
struct claim_result {
  std::int64_t live_campaign = 0; // before the claim
  std::int64_t live_global = 0;
  int opted_out = 0; // due rows found on the do-not-contact list
  std::vector<claimed_lead> claimed;
};

/// Under a service-wide advisory lock (so that two instances never exceed
/// the caps together): counts the live rows ('dialing', 'answered') of
/// campaign `c` and of the whole service, marks due rows whose number is
/// on the do-not-contact list 'opted_out', and claims up to
/// campaign_free_slots(...) due rows (queued, or no_answer/busy/failed with
/// attempts left, next_attempt_at <= now; ORDER BY next_attempt_at, id;
/// FOR UPDATE SKIP LOCKED): outcome 'dialing', attempts_made + 1, leased to
/// `owner` for `dial_lease`, first_dial_at set on the first dial.
claim_result claim_due_leads(db_tx& tx, const campaign_settings& c,
                             const std::string& owner,
                             std::chrono::seconds dial_lease, int global_cap);

/// A dial that could not be placed: 'failed' with `error`; due again after
/// retry_after_min when `retryable`, else never (next_attempt_at
/// 'infinity'). Only touches the row while it is still this claim's
/// (dialing, `owner`, `attempt`): the dial helper may have moved it on
/// (opted_out). Returns true when it changed the row.
bool fail_dial(db_tx& tx, std::int64_t campaign_lead_id,
               const std::string& owner, int attempt, const std::string& error,
               bool retryable);

/// When campaign `c` (kind 'campaign') has no live row, and no row that is
/// or will become due: marks it completed and frees its lease. True when it
/// did.
bool complete_if_done(db_tx& tx, const campaign_settings& c);

} // namespace al
