#include "actors/whatsapp_inbox.hpp"

#include "actors/sql.hpp"
#include "actors/sql_fields.hpp"
#include "core/whatsapp_wire.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <vector>

namespace al {

namespace json = boost::json;

namespace {

// -- SQL, next to its use
// ------------------------------------------------------

// The statements are built from the macros below, one SQL clause per line
// (clang-format would break them mid-clause).
// clang-format off
// A conversation as the inbox shows it. $1 business, $2 the care window in
// seconds. The lead is the business's lead with the peer's number (unique
// per business, schemas/0002); the last message and the unread count walk
// the messages_conversation_seq index (schemas/0011), whose key is the
// CASE expression below. A redelivered inbound message leaves a gap in the
// numbers, so the last message is the highest seq, not last_seq itself.
#define AL_PEER_OF(m)                                                          \
  "(CASE WHEN " m ".direction = 'in' THEN " m ".from_address ELSE " m          \
  ".to_address END)"

#define AL_UNREAD_OF(c)                                                        \
  "FROM messages u WHERE u.business_id = " c ".business_id"                    \
  " AND " AL_PEER_OF("u") " = " c ".peer AND u.direction = 'in'"               \
  " AND u.conversation_seq > " c ".last_read_seq"

#define AL_CONVERSATION_SELECT                                                 \
  "SELECT c.peer, l.id, l.name, iso_utc(c.last_message_at), m.direction,"      \
  " left(m.body, 120), m.sent_by, (SELECT count(*) " AL_UNREAD_OF("c") "),"    \
  " coalesce(c.ai_paused_until > now(), false),"                               \
  " iso_utc(CASE WHEN c.ai_paused_until > now() THEN c.ai_paused_until END),"  \
  " c.needs_agent,"                                                            \
  " coalesce(c.last_inbound_at > now() - make_interval(secs => $2), false),"   \
  " b.whatsapp_ai"                                                             \
  " FROM wa_conversations c JOIN businesses b ON b.id = c.business_id"         \
  " LEFT JOIN LATERAL (SELECT id, name FROM leads"                             \
  " WHERE business_id = c.business_id"                                         \
  " AND phone = regexp_replace(c.peer, '^whatsapp:', '') ORDER BY id LIMIT 1)" \
  " l ON true"                                                                 \
  " LEFT JOIN LATERAL (SELECT x.direction, x.body, x.sent_by FROM messages x"  \
  " WHERE x.business_id = c.business_id AND " AL_PEER_OF("x") " = c.peer"      \
  " AND x.conversation_seq IS NOT NULL"                                        \
  " ORDER BY x.conversation_seq DESC LIMIT 1) m ON true"

// `f`: the filter's parameter (core/wa_inbox_input.hpp checked its value).
#define AL_CONVERSATION_FILTER(f)                                              \
  " WHERE c.business_id = $1 AND (" f " = 'all'"                               \
  " OR (" f " = 'unread' AND EXISTS (SELECT 1 " AL_UNREAD_OF("c") "))"         \
  " OR (" f " = 'needs_agent' AND c.needs_agent)"                              \
  " OR (" f " = 'human' AND c.ai_paused_until > now()))"

constexpr sql_statement select_conversations{
  AL_CONVERSATION_SELECT AL_CONVERSATION_FILTER("$3")
  " ORDER BY c.last_message_at DESC, c.peer LIMIT $4 OFFSET $5"};

constexpr sql_statement count_conversations{
  "SELECT count(*) FROM wa_conversations c" AL_CONVERSATION_FILTER("$2")};

constexpr sql_statement select_conversation{
  AL_CONVERSATION_SELECT " WHERE c.business_id = $1 AND c.peer = $3"};

// Newest first up to $4 rows (one more than the page, to tell whether older
// ones remain); the caller turns the page around.
constexpr sql_statement select_thread{
  "SELECT m.id, m.conversation_seq, m.direction, m.body, m.status,"
  " m.sent_by, m.template_name, iso_utc(m.created_at), m.error"
  " FROM messages m WHERE m.business_id = $1 AND " AL_PEER_OF("m") " = $2"
  " AND m.conversation_seq < $3 ORDER BY m.conversation_seq DESC LIMIT $4"};

// $2: the page's message ids as an array literal ("{1,2}").
constexpr sql_statement select_thread_media{
  "SELECT message_id, idx, status, content_type, size_bytes, filename,"
  " transcript FROM message_media WHERE business_id = $1"
  " AND message_id = ANY($2::bigint[]) ORDER BY message_id, idx"};

constexpr sql_statement update_read_marker{
  "UPDATE wa_conversations SET last_read_seq = last_seq"
  " WHERE business_id = $1 AND peer = $2 RETURNING last_seq"};

#undef AL_CONVERSATION_FILTER
#undef AL_CONVERSATION_SELECT
#undef AL_UNREAD_OF
#undef AL_PEER_OF
// clang-format on

double care_window_secs() {
  return static_cast<double>(
    std::chrono::duration_cast<std::chrono::seconds>(wa_care_window).count());
}

/// "whatsapp:+972..." -> "+972...".
std::string phone_of(const std::string& peer) {
  constexpr std::string_view prefix = "whatsapp:";
  if (peer.compare(0, prefix.size(), prefix) == 0)
    return peer.substr(prefix.size());
  return peer;
}

json::object conversation_json(const pqxx::row& r, bool ai_key) {
  json::value last = nullptr;
  if (!r[4].is_null())
    last = json::object{{"direction", r[4].c_str()},
                        {"body", r[5].c_str()},
                        {"sent_by", text_or_null(r[6])}};
  auto paused = r[8].as<bool>();
  auto needs_agent = r[10].as<bool>();
  auto ai_available = ai_key && r[12].as<bool>();
  return json::object{
    {"phone", phone_of(r[0].c_str())},
    {"lead_id", int_or_null(r[1])},
    {"lead_name", text_or_null(r[2])},
    {"last_message_at", r[3].c_str()},
    {"last_message", std::move(last)},
    {"unread", r[7].as<std::int64_t>()},
    {"ai_state", wa_ai_state(ai_available, paused, needs_agent)},
    {"ai_paused_until", text_or_null(r[9])},
    {"needs_agent", needs_agent},
    {"window_open", r[11].as<bool>()},
  };
}

json::object media_json(const pqxx::row& r) {
  auto message = r[0].as<std::int64_t>();
  auto idx = r[1].as<std::int64_t>();
  std::string status = r[2].c_str();
  json::value url = nullptr;
  // GET /api/crm/messages/{id}/media/{idx} serves stored bytes only.
  if (status == "stored")
    url = "/api/crm/messages/" + std::to_string(message) + "/media/"
          + std::to_string(idx);
  return json::object{{"idx", idx},
                      {"status", status},
                      {"content_type", r[3].c_str()},
                      {"size", r[4].as<std::int64_t>()},
                      {"filename", r[5].c_str()},
                      {"transcript", text_or_null(r[6])},
                      {"url", std::move(url)}};
}

crm_reply no_conversation() {
  return crm_fail(crm_code::not_found, "No such conversation");
}

} // namespace

crm_reply list_wa_conversations(db_tx& tx, std::int64_t business,
                                const wa_inbox_query& q, bool ai_key) {
  auto secs = care_window_secs();
  auto total = exec(tx, count_conversations, business, q.filter)[0][0]
                 .as<std::int64_t>();
  json::array items;
  for (auto r : exec(tx, select_conversations, business, secs, q.filter,
                     q.paging.per_page, q.paging.offset()))
    items.push_back(conversation_json(r, ai_key));
  return crm_reply{crm_code::ok, page_of(std::move(items), q.paging, total)};
}

crm_reply wa_conversation_thread(db_tx& tx, std::int64_t business,
                                 const std::string& peer,
                                 const wa_thread_query& q, bool ai_key) {
  auto head = exec(tx, select_conversation, business, care_window_secs(), peer);
  if (head.empty())
    return no_conversation();
  auto out = conversation_json(head[0], ai_key);

  auto before = q.before_seq.value_or(std::numeric_limits<std::int64_t>::max());
  auto rows = exec(tx, select_thread, business, peer, before, q.limit + 1);
  auto has_more = static_cast<std::int64_t>(rows.size()) > q.limit;
  auto n = std::min<std::size_t>(rows.size(),
                                 static_cast<std::size_t>(q.limit));

  std::vector<json::object> page; // newest first, as read
  std::string ids = "{";
  for (std::size_t i = 0; i < n; ++i) {
    auto r = rows[static_cast<pqxx::result::size_type>(i)];
    auto id = r[0].as<std::int64_t>();
    if (i > 0)
      ids += ',';
    ids += std::to_string(id);
    page.push_back(json::object{{"id", id},
                                {"seq", r[1].as<std::int64_t>()},
                                {"direction", r[2].c_str()},
                                {"body", r[3].c_str()},
                                {"status", r[4].c_str()},
                                {"sent_by", text_or_null(r[5])},
                                {"template_name", text_or_null(r[6])},
                                {"created_at", r[7].c_str()},
                                {"error", text_or_null(r[8])},
                                {"media", json::array{}}});
  }
  ids += '}';

  if (!page.empty()) {
    std::map<std::int64_t, json::array> media;
    for (auto r : exec(tx, select_thread_media, business, ids))
      media[r[0].as<std::int64_t>()].push_back(media_json(r));
    for (auto& m : page)
      if (auto i = media.find(m["id"].as_int64()); i != media.end())
        m["media"] = std::move(i->second);
  }

  json::array items;
  for (auto i = page.rbegin(); i != page.rend(); ++i)
    items.push_back(std::move(*i));
  json::value next = nullptr;
  if (has_more && !items.empty())
    next = items.front().as_object().at("seq");
  out["items"] = std::move(items);
  out["has_more"] = has_more;
  out["next_before_seq"] = std::move(next);
  return crm_reply{crm_code::ok, std::move(out)};
}

crm_reply mark_wa_conversation_read(db_tx& tx, std::int64_t business,
                                    const std::string& peer) {
  if (exec(tx, update_read_marker, business, peer).empty())
    return no_conversation();
  return crm_reply{crm_code::ok,
                   json::object{{"success", true}, {"unread", 0}}};
}

} // namespace al
