#include "domain/call_records.hpp"

#include "actors/audio_store.hpp"
#include "actors/businesses.hpp"
#include "actors/crm_queries.hpp"

#include <memory>
#include <optional>

namespace al::domain::call_records {

namespace {

/// The largest part answered for a range (four chunks): a player's
/// `bytes=0-` streams a long recording in parts instead of one read of a
/// two-hour call on a database thread.
constexpr std::uint64_t max_audio_part = 4 * audio_chunk_bytes;

using lookup_fn = std::function<std::optional<audio_object>(db_tx&)>;

/// The object `lookup` finds, judged against `range`: only the bytes the
/// answer carries are read, in the lookup's transaction.
void read_audio(const store& db, scope s, lookup_fn lookup, std::string range,
                audio_fn done) {
  auto out = std::make_shared<audio_result>();
  db.run(
    [out, s, lookup = std::move(lookup), range = std::move(range)](db_tx& tx) {
      if (s.verify && !business_exists(tx, s.business)) {
        out->status = {domain_code::not_found, "No such business"};
        return;
      }
      auto object = lookup(tx);
      if (!object) {
        out->status = {domain_code::not_found, "No such audio"};
        return;
      }
      auto r = parse_range(range, object->total_bytes);
      out->what = r.what;
      out->total_bytes = object->total_bytes;
      out->content_type = object->content_type;
      if (r.what == range_request::kind::unsatisfiable)
        return;
      if (r.what == range_request::kind::partial) {
        if (r.range.length() > max_audio_part)
          r.range.last = r.range.first + max_audio_part - 1;
        out->range = r.range;
      } else {
        out->range = {0, object->total_bytes ? object->total_bytes - 1 : 0};
      }
      auto body = read_audio_bytes(tx, *object, out->range.first,
                                   out->range.last);
      if (!body) { // stored chunks do not add up (logged)
        out->status = {domain_code::not_found, "No such audio"};
        return;
      }
      out->body = std::move(*body);
    },
    [out, done = std::move(done)](const db_error& err) {
      if (!err.empty()) {
        audio_result failed;
        failed.status = from_db_error(err);
        return done(std::move(failed));
      }
      done(std::move(*out));
    });
}

} // namespace

void list(const store& db, scope s, call_filter f, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, f = std::move(f)](db_tx& tx) {
      return list_calls(tx, b, f);
    },
    std::move(done));
}

void get(const store& db, scope s, std::string sid, reply_fn done) {
  run_use_case(
    db, s,
    [b = s.business, sid = std::move(sid)](db_tx& tx) {
      return get_call(tx, b, sid);
    },
    std::move(done));
}

void segment_audio(const store& db, scope s, std::string sid, std::int64_t seq,
                   std::string range, audio_fn done) {
  read_audio(
    db, s,
    [b = s.business, sid = std::move(sid), seq](db_tx& tx) {
      return find_call_audio(tx, b, sid, audio_kind_segment(), seq);
    },
    std::move(range), std::move(done));
}

void recording_audio(const store& db, scope s, std::string sid,
                     std::string range, audio_fn done) {
  read_audio(
    db, s,
    [b = s.business, sid = std::move(sid)](db_tx& tx) {
      return find_call_recording(tx, b, sid);
    },
    std::move(range), std::move(done));
}

} // namespace al::domain::call_records
