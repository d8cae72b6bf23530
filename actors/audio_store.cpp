#include "actors/audio_store.hpp"

#include "actors/log.hpp"
#include "actors/sql.hpp"

#include <pqxx/pqxx>

#include <algorithm>
#include <memory>

namespace al {

namespace {

// -- writing
// -------------------------------------------------------------------

// A whole object in one transaction: the row is complete when (and only
// if) its chunks commit with it. A retry updates the same row.
constexpr sql_statement upsert_whole_audio{
  "INSERT INTO call_audio (business_id, call_sid, kind, seq, content_type,"
  " total_bytes, duration_ms, complete)"
  " SELECT business_id, $1, $2, $3, $4, $5, $6, true FROM calls"
  " WHERE call_sid = $1"
  " ON CONFLICT (call_sid, kind, seq) DO UPDATE SET"
  " content_type = EXCLUDED.content_type, total_bytes = EXCLUDED.total_bytes,"
  " duration_ms = EXCLUDED.duration_ms, complete = true"
  " RETURNING id"};

// A streamed object's row, created by its first chunk (not complete yet).
constexpr sql_statement upsert_audio_header{
  "INSERT INTO call_audio (business_id, call_sid, kind, seq, content_type)"
  " SELECT business_id, $1, $2, $3, $4 FROM calls WHERE call_sid = $1"
  " ON CONFLICT (call_sid, kind, seq) DO UPDATE SET"
  " content_type = EXCLUDED.content_type"
  " RETURNING id"};

// The import: an object that exists already is left alone.
constexpr sql_statement insert_audio_row{
  "INSERT INTO call_audio (business_id, call_sid, kind, seq, content_type,"
  " total_bytes, duration_ms, complete)"
  " VALUES ($1, $2, $3, $4, $5, $6, $7, true)"
  " ON CONFLICT (call_sid, kind, seq) DO NOTHING RETURNING id"};

constexpr sql_statement upsert_chunk{
  "INSERT INTO call_audio_chunks (audio_id, chunk_no, data)"
  " VALUES ($1, $2, $3)"
  " ON CONFLICT (audio_id, chunk_no) DO UPDATE SET data = EXCLUDED.data"};

// Chunks past the end (a shorter object written over a longer one).
constexpr sql_statement delete_chunks_after{
  "DELETE FROM call_audio_chunks WHERE audio_id = $1 AND chunk_no > $2"};

// The last chunk of a streamed object: complete only when every chunk
// 0..$3 is there.
constexpr sql_statement complete_audio{
  "UPDATE call_audio SET complete = true, duration_ms = $2,"
  " total_bytes = (SELECT coalesce(sum(octet_length(data)), 0)"
  "                FROM call_audio_chunks WHERE audio_id = $1)"
  " WHERE id = $1 AND (SELECT count(*) FROM call_audio_chunks"
  "                    WHERE audio_id = $1) = $3 + 1"
  " RETURNING id"};

// -- reading
// -------------------------------------------------------------------

constexpr sql_statement select_audio{
  "SELECT id, content_type, total_bytes, duration_ms FROM call_audio"
  " WHERE business_id = $1 AND call_sid = $2 AND kind = $3 AND seq = $4"
  " AND complete"};

constexpr sql_statement select_recording{
  "SELECT id, content_type, total_bytes, duration_ms FROM call_audio"
  " WHERE business_id = $1 AND call_sid = $2"
  " AND kind IN ('call', 'recording') AND complete"
  " ORDER BY kind = 'call' DESC, seq LIMIT 1"};

// Chunks $2..$3 of object $1, each cut to what the range needs: from byte
// $4 of the first one, up to byte $5 of the last one ($6 = chunk size).
// octet_length and substring of an uncompressed (STORAGE EXTERNAL) value
// read only the slices they need.
constexpr sql_statement select_chunk_slices{
  "SELECT chunk_no, octet_length(data),"
  " substring(data FROM (CASE WHEN chunk_no = $2 THEN $4 ELSE 0 END) + 1"
  "           FOR (CASE WHEN chunk_no = $3 THEN $5 + 1 ELSE $6 END)"
  "               - (CASE WHEN chunk_no = $2 THEN $4 ELSE 0 END))"
  " FROM call_audio_chunks WHERE audio_id = $1"
  " AND chunk_no BETWEEN $2 AND $3 ORDER BY chunk_no"};

bool known_kind(std::string_view kind) {
  return kind == audio_kind_segment() || kind == audio_kind_recording()
         || kind == audio_kind_call();
}

/// Writes `bytes` as chunks 0..n-1 of object `id`; drops any beyond.
void write_chunks(db_tx& tx, std::int64_t id, std::string_view bytes) {
  int n = 0;
  for (std::size_t off = 0; off < bytes.size(); off += audio_chunk_bytes, ++n) {
    auto len = std::min(audio_chunk_bytes, bytes.size() - off);
    exec(tx, upsert_chunk, id, n, pqxx::binarystring{bytes.data() + off, len});
  }
  exec(tx, delete_chunks_after, id, n - 1);
}

std::optional<audio_object> object_of(const pqxx::result& r) {
  if (r.empty())
    return std::nullopt;
  audio_object o;
  o.id = r[0][0].as<std::int64_t>();
  o.content_type = r[0][1].c_str();
  auto total = r[0][2].as<std::int64_t>();
  o.total_bytes = total > 0 ? static_cast<std::uint64_t>(total) : 0;
  o.duration_ms = r[0][3].as<int>();
  return o;
}

} // namespace

std::string_view audio_kind_segment() {
  return "segment";
}
std::string_view audio_kind_recording() {
  return "recording";
}
std::string_view audio_kind_call() {
  return "call";
}

bool save_audio(const store& db, std::string call_sid, std::string kind,
                int seq, std::string content_type, std::string bytes,
                int duration_ms) {
  if (!db || !known_kind(kind) || call_sid.empty())
    return false;
  auto data = std::make_shared<const std::string>(std::move(bytes));
  auto what = "audio " + kind + " " + std::to_string(seq) + " of " + call_sid;
  return db.write(std::move(what), [call_sid = std::move(call_sid),
                                    kind = std::move(kind), seq,
                                    content_type = std::move(content_type),
                                    data, duration_ms](db_tx& tx) {
    auto r = exec(tx, upsert_whole_audio, call_sid, kind, seq, content_type,
                  static_cast<std::int64_t>(data->size()), duration_ms);
    if (r.empty()) {
      log_safe(spdlog::level::warn,
               "audio {} {} of {} not stored: no such call", kind, seq,
               call_sid);
      return;
    }
    write_chunks(tx, r[0][0].as<std::int64_t>(), *data);
  });
}

bool append_audio_chunk(const store& db, const std::string& call_sid,
                        const std::string& kind, int seq,
                        const std::string& content_type, int chunk_no,
                        std::string bytes, bool last, int duration_ms) {
  if (!db || !known_kind(kind) || call_sid.empty() || chunk_no < 0)
    return false;
  // The layout range reads rely on: every chunk but the last is full.
  if (!last && bytes.size() != audio_chunk_bytes)
    return false;
  if (bytes.size() > audio_chunk_bytes)
    return false;
  auto data = std::make_shared<const std::string>(std::move(bytes));
  auto what = "audio chunk " + std::to_string(chunk_no) + " of " + kind + " "
              + std::to_string(seq) + " of " + call_sid;
  return db.write(std::move(what), [call_sid, kind, seq, content_type, chunk_no,
                                    data, last, duration_ms](db_tx& tx) {
    auto r = exec(tx, upsert_audio_header, call_sid, kind, seq, content_type);
    if (r.empty()) {
      log_safe(spdlog::level::warn,
               "audio chunk of {} {} of {} not stored: no such call", kind, seq,
               call_sid);
      return;
    }
    auto id = r[0][0].as<std::int64_t>();
    exec(tx, upsert_chunk, id, chunk_no,
         pqxx::binarystring{data->data(), data->size()});
    if (!last)
      return;
    exec(tx, delete_chunks_after, id, chunk_no);
    if (exec(tx, complete_audio, id, duration_ms, chunk_no).empty())
      log_safe(spdlog::level::err,
               "audio {} {} of {} not complete: chunks before {} missing", kind,
               seq, call_sid, chunk_no);
  });
}

std::optional<audio_object>
find_call_audio(db_tx& tx, std::int64_t business, const std::string& call_sid,
                std::string_view kind, std::int64_t seq) {
  return object_of(
    exec(tx, select_audio, business, call_sid, std::string{kind}, seq));
}

std::optional<audio_object> find_call_recording(db_tx& tx,
                                                std::int64_t business,
                                                const std::string& call_sid) {
  return object_of(exec(tx, select_recording, business, call_sid));
}

std::optional<std::string>
read_audio_bytes(db_tx& tx, const audio_object& object, std::uint64_t first,
                 std::uint64_t last) {
  if (object.total_bytes == 0)
    return std::string{};
  if (first > last || last >= object.total_bytes)
    return std::nullopt;
  constexpr std::uint64_t ch = audio_chunk_bytes;
  auto c0 = static_cast<std::int64_t>(first / ch);
  auto c1 = static_cast<std::int64_t>(last / ch);
  auto last_chunk = static_cast<std::int64_t>((object.total_bytes - 1) / ch);
  auto rows = exec(tx, select_chunk_slices, object.id, c0, c1,
                   static_cast<std::int64_t>(first % ch),
                   static_cast<std::int64_t>(last % ch),
                   static_cast<std::int64_t>(ch));
  std::string out;
  out.reserve(static_cast<std::size_t>(last - first + 1));
  auto expect = c0;
  for (auto row : rows) {
    auto no = row[0].as<std::int64_t>();
    auto size = row[1].as<std::int64_t>();
    auto want_size = no < last_chunk ? static_cast<std::int64_t>(ch)
                                     : static_cast<std::int64_t>(
                                       object.total_bytes
                                       - ch * static_cast<std::uint64_t>(no));
    if (no != expect || size != want_size)
      break;
    pqxx::binarystring slice{row[2]};
    out.append(reinterpret_cast<const char*>(slice.data()), slice.size());
    ++expect;
  }
  if (expect != c1 + 1 || out.size() != last - first + 1) {
    log_safe(spdlog::level::err,
             "audio object {}: stored chunks do not match its size {}",
             object.id, object.total_bytes);
    return std::nullopt;
  }
  return out;
}

bool insert_audio(db_tx& tx, std::int64_t business, const std::string& call_sid,
                  std::string_view kind, int seq,
                  const std::string& content_type, std::string_view bytes,
                  int duration_ms) {
  auto r = exec(tx, insert_audio_row, business, call_sid, std::string{kind},
                seq, content_type, static_cast<std::int64_t>(bytes.size()),
                duration_ms);
  if (r.empty())
    return false;
  write_chunks(tx, r[0][0].as<std::int64_t>(), bytes);
  return true;
}

} // namespace al
