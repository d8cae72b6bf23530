#pragma once

// The request input of /api/crm/*: query-string filters and JSON bodies,
// parsed and validated into plain structs. Pure (no I/O): every function
// returns an error message for a 400, or empty on success. Checks that need
// the database (a status in the business's pipeline, a lead of the same
// business, budget_min <= budget_max after a PATCH) are done by
// actors/crm_queries.

#include "core/form.hpp"
#include "core/input.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace al {

constexpr std::int64_t default_per_page = 50;
constexpr std::int64_t max_per_page = 200;

/// ?page= (>= 1, default 1) and ?per_page= (1..200, default 50).
struct page_params {
  std::int64_t page = 1;
  std::int64_t per_page = default_per_page;
  std::int64_t offset() const noexcept {
    return (page - 1) * per_page;
  }
};

/// Parses a raw query string (nullopt on malformed percent-encoding).
std::optional<form_params> parse_query(std::string_view raw);

std::string parse_paging(const form_params& q, page_params& out);

/// `q` as an ILIKE pattern matching it anywhere: "%" + q + "%" with '\',
/// '%' and '_' escaped by '\' (ILIKE's default escape character).
std::string ilike_contains(std::string_view q);

// -- leads -------------------------------------------------------------------

/// GET /api/crm/leads: ?status=&source=&q=&tag=&sort=created|updated
/// &order=asc|desc&page=&per_page=
struct lead_filter {
  page_params paging;
  std::optional<std::string> status, source, tag;
  std::optional<std::string> q;     // as given (searched in name, phone, notes)
  std::optional<std::string> phone; // q normalised to E.164, when it is one
  bool sort_updated = false;        // else created
  bool ascending = false;
};

std::string parse_lead_filter(const form_params& q, lead_filter& out);

/// A lead create/patch body. For PATCH, unset = keep; patch_field null =
/// clear.
struct lead_input {
  std::optional<std::string> name;
  patch_field<std::string> phone; // E.164
  std::optional<std::string> source, status;
  patch_field<std::string> deal, city, callback_at;
  patch_field<double> rooms;
  patch_field<std::int64_t> budget_min, budget_max;
  std::optional<std::string> notes;
  std::optional<std::vector<std::string>> tags;
};

/// `create` requires a name or a phone.
std::string parse_lead(simdjson::dom::object o, lead_input& in, bool create);

// -- calls -------------------------------------------------------------------

/// GET /api/crm/calls: ?status=&from=(caller number)&lead_id=&page=&per_page=
struct call_filter {
  page_params paging;
  std::optional<std::string> status;
  std::optional<std::string> from; // E.164
  std::optional<std::int64_t> lead_id;
};

std::string parse_call_filter(const form_params& q, call_filter& out);

/// A Twilio call SID as it may appear in a URL: [A-Za-z0-9_-]{1,64}.
bool valid_call_sid(std::string_view s) noexcept;

// -- appointments ------------------------------------------------------------

/// GET /api/crm/appointments: ?from=&to= (an ISO date, taken as that day in
/// Asia/Jerusalem, or an ISO timestamp with offset; both ends inclusive)
/// &status=&lead_id=&page=&per_page=
struct appointment_filter {
  page_params paging;
  std::optional<std::string> from_ts, from_date, to_ts, to_date;
  std::optional<std::string> status;
  std::optional<std::int64_t> lead_id;
};

std::string parse_appointment_filter(const form_params& q,
                                     appointment_filter& out);

bool valid_appointment_status(std::string_view s) noexcept;

struct appointment_input {
  patch_field<std::int64_t> lead_id;
  std::optional<std::string> starts_at; // validated ISO-8601 with offset
  std::optional<std::string> address, notes, status;
};

/// `create` requires starts_at.
std::string parse_appointment(simdjson::dom::object o, appointment_input& in,
                              bool create);

// -- pipeline, notes, tasks --------------------------------------------------

struct pipeline_status {
  std::string key;
  std::string label;
};

/// new, contacted, qualified, appointment, won, lost with Hebrew labels.
const std::vector<pipeline_status>& default_pipeline();

/// PUT /api/crm/pipeline {"statuses":[{"key":"new","label":"חדש"},...]}:
/// 1..50 statuses, unique keys [a-z0-9_]{1,32}, labels 1..100 bytes; the
/// array order is the pipeline order.
std::string parse_pipeline(simdjson::dom::object o,
                           std::vector<pipeline_status>& out);

/// POST /api/crm/leads/{id}/notes {"body":"..."} (1..10000 bytes).
std::string parse_note(simdjson::dom::object o, std::string& body);

/// GET /api/crm/tasks: ?lead_id=&done=true|false&page=&per_page=
struct task_filter {
  page_params paging;
  std::optional<std::int64_t> lead_id;
  std::optional<bool> done;
};

std::string parse_task_filter(const form_params& q, task_filter& out);

struct task_input {
  std::optional<std::string> title;
  patch_field<std::int64_t> lead_id;
  patch_field<std::string> due_at; // validated ISO-8601 with offset
  std::optional<bool> done;
};

/// `create` requires a title.
std::string parse_task(simdjson::dom::object o, task_input& in, bool create);

} // namespace al
